//! These tests talk to the server the way its clients do: over real TCP sockets on 127.0.0.1,
//! port 0, so each test gets a free port of its own.
//!
//! Real sockets need the real clock (a paused clock jumps ahead while the runtime waits for the
//! network, and timeouts fire early), so nothing here runs on paused time. Instead the one
//! timeout that has to fire, the idle timeout, is set small, and every wait for the server is
//! bounded by `PATIENCE`: far longer than a working server ever needs, so it only runs out when
//! the server is broken, and then the test fails with a message instead of hanging. No test
//! measures how long anything took.

use std::net::SocketAddr;
use std::time::Duration;

use capstone_server::{run, Config};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

/// How long a test waits for the server before it gives up on it.
const PATIENCE: Duration = Duration::from_secs(5);

/// For the tests that do not want anyone disconnected for being idle.
const FOREVER: Duration = Duration::from_secs(3600);

/// A server running in a task of the test's runtime.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

async fn start(max_connections: usize, idle_timeout: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a listener on 127.0.0.1");
    start_on(listener, max_connections, idle_timeout)
}

fn start_on(listener: TcpListener, max_connections: usize, idle_timeout: Duration) -> Server {
    let addr = listener.local_addr().unwrap();
    let config = Config {
        max_connections,
        idle_timeout,
    };
    let (stop, stop_signal) = oneshot::channel::<()>();
    // The shutdown future completes when the test calls `shutdown`, and only then.
    let shutdown = async move {
        if stop_signal.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let task = tokio::spawn(run(listener, config, shutdown));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

impl Server {
    /// Completes the server's shutdown future.
    fn shutdown(&mut self) {
        let stop = self.stop.take().expect("shutdown is signalled only once");
        assert!(
            stop.send(()).is_ok(),
            "the shutdown future was dropped before the shutdown signal: run returned too early"
        );
    }

    /// Waits for `run` to return after the shutdown signal and checks that it returned `Ok`.
    async fn stopped(&mut self, why_it_should: &str) {
        let returned = timeout(PATIENCE, &mut self.task).await.unwrap_or_else(|_| {
            panic!(
                "run did not return within {PATIENCE:?} of the shutdown signal, {why_it_should}: \
                 it is still waiting for something that never ends (an accept loop still \
                 running, or a connection that was never told to close)"
            )
        });
        let result = returned.expect("run panicked");
        if let Err(err) = result {
            panic!("run returned an error after a clean shutdown: {err:#}");
        }
    }
}

/// What a client heard from the server.
#[derive(Debug, PartialEq)]
enum Heard {
    /// One line, without its newline.
    Line(String),
    /// The server closed the connection (end of stream, or the connection was reset).
    Closed,
    /// Nothing at all, for `PATIENCE`.
    Nothing,
}

/// For messages: "it heard ...".
impl std::fmt::Display for Heard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Heard::Line(line) => write!(f, "the line {line:?}"),
            Heard::Closed => write!(f, "the connection close"),
            Heard::Nothing => write!(f, "nothing for {PATIENCE:?}"),
        }
    }
}

struct Client {
    name: &'static str,
    stream: BufReader<TcpStream>,
}

impl Client {
    async fn connect(addr: SocketAddr, name: &'static str) -> Client {
        let stream = timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("{name} could not connect within {PATIENCE:?}"))
            .unwrap_or_else(|err| panic!("{name} could not connect: {err}"));
        Client::new(stream, name)
    }

    fn new(stream: TcpStream, name: &'static str) -> Client {
        Client {
            name,
            stream: BufReader::new(stream),
        }
    }

    /// Sends one line. A failed write means the server has closed the connection; the next
    /// `hear` says so.
    async fn send(&mut self, line: &str) {
        let _ = self
            .stream
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .await;
    }

    /// The next line from the server, or what happened instead, waiting at most `PATIENCE`.
    async fn hear(&mut self) -> Heard {
        let mut line = String::new();
        match timeout(PATIENCE, self.stream.read_line(&mut line)).await {
            Err(_) => Heard::Nothing,
            Ok(Ok(0) | Err(_)) => Heard::Closed,
            Ok(Ok(_)) => Heard::Line(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    /// Sends one command and returns the answer line; panics if there is none.
    async fn request(&mut self, command: &str) -> String {
        self.send(command).await;
        let name = self.name;
        match self.hear().await {
            Heard::Line(answer) => answer,
            Heard::Closed => panic!(
                "{name} sent {command:?} and the server closed the connection without answering"
            ),
            Heard::Nothing => panic!("{name} sent {command:?} and got no answer in {PATIENCE:?}"),
        }
    }

    /// Reads past any `ERR` lines (a server may say why it hangs up) and returns what came next.
    async fn hear_past_errors(&mut self) -> Heard {
        loop {
            match self.hear().await {
                Heard::Line(line) if is_error(&line) => continue,
                other => return other,
            }
        }
    }
}

/// `ERR <reason>`: the protocol's answer to anything that went wrong.
fn is_error(line: &str) -> bool {
    line.strip_prefix("ERR ")
        .is_some_and(|reason| !reason.trim().is_empty())
}

/// Connects new clients until one is served (answered `VALUE ..` or `NIL` to a `GET`), and
/// returns it. The server notices that a client has gone only when it reads the end of that
/// client's stream (or its connection ends some other way), so a client that comes right away
/// may still be turned away: retry for a while. `after` says what happened before, for the
/// message if no client is served within `PATIENCE`.
async fn served_soon(addr: SocketAddr, after: &str) -> Client {
    let next = async {
        loop {
            let mut next = Client::connect(addr, "the next client").await;
            next.send("GET k").await;
            match next.hear().await {
                Heard::Line(line) if line.starts_with("VALUE") || line == "NIL" => return next,
                Heard::Line(_) | Heard::Closed => sleep(Duration::from_millis(10)).await,
                Heard::Nothing => panic!(
                    "{after}; then a new client heard nothing for {PATIENCE:?}: it was neither \
                     served nor turned away"
                ),
            }
        }
    };
    timeout(PATIENCE, next).await.unwrap_or_else(|_| {
        panic!(
            "{after}, yet for {PATIENCE:?} every new client was still turned away: that \
             connection's slot was never given back, so the server serves fewer clients with \
             every connection that ends this way"
        )
    })
}

#[tokio::test]
async fn answers_set_get_and_del() {
    let server = start(16, FOREVER).await;
    let mut ada = Client::connect(server.addr, "ada").await;
    let mut bob = Client::connect(server.addr, "bob").await;

    assert_eq!(ada.request("SET greeting hello world").await, "OK");
    assert_eq!(
        ada.request("GET greeting").await,
        "VALUE hello world",
        "GET should answer the value that SET stored, spaces included"
    );
    assert_eq!(
        bob.request("GET greeting").await,
        "VALUE hello world",
        "every client shares one store: bob should see what ada stored"
    );
    assert_eq!(bob.request("DEL greeting").await, "DELETED");
    assert_eq!(ada.request("GET greeting").await, "NIL");
    assert_eq!(ada.request("DEL greeting").await, "NIL");

    // Several commands in one write get their answers in order.
    ada.send("SET a 1\nSET b 2\nGET a\nGET b").await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(ada.hear().await);
    }
    let expected = ["OK", "OK", "VALUE 1", "VALUE 2"].map(|line| Heard::Line(line.to_owned()));
    assert_eq!(
        answers, expected,
        "four commands sent in one write should get four answers, in order"
    );
}

#[tokio::test]
async fn a_malformed_command_gets_an_err_line() {
    let server = start(16, FOREVER).await;
    let mut client = Client::connect(server.addr, "the client").await;

    for bad in ["FROB x", "GET", "SET lonely"] {
        client.send(bad).await;
        match client.hear().await {
            Heard::Line(line) if is_error(&line) => {}
            Heard::Line(line) => panic!(
                "{bad:?} is not a valid command, yet the server answered {line:?} instead of an \
                 `ERR <reason>` line"
            ),
            Heard::Closed => panic!(
                "the server hung up without a word after the malformed command {bad:?}: the \
                 parse error ended the connection and then was thrown away, so neither the \
                 client nor the logs learn what went wrong. A bad command should get an \
                 `ERR <reason>` line, and the connection should carry on"
            ),
            Heard::Nothing => panic!(
                "the server said nothing for {PATIENCE:?} after the malformed command {bad:?}: \
                 it should answer with an `ERR <reason>` line"
            ),
        }
    }

    assert_eq!(
        client.request("SET k v").await,
        "OK",
        "after answering ERR, the connection should go on serving commands"
    );
    assert_eq!(client.request("GET k").await, "VALUE v");
}

#[tokio::test]
async fn a_client_over_the_limit_is_turned_away_until_a_slot_frees_up() {
    let server = start(2, FOREVER).await;
    let mut first = Client::connect(server.addr, "the first client").await;
    assert_eq!(first.request("SET k first").await, "OK");
    let mut second = Client::connect(server.addr, "the second client").await;
    assert_eq!(second.request("GET k").await, "VALUE first");

    // Both slots are taken. A third client says nothing and closes its sending side at once: a
    // server that serves it reads the end of its input and hangs up; a full server tells it so
    // with an ERR line before hanging up. (Sending nothing means the server never has to read
    // from a client it turns away.)
    let mut third = Client::connect(server.addr, "the third client").await;
    third.stream.get_mut().shutdown().await.unwrap();
    match third.hear().await {
        Heard::Line(line) if is_error(&line) => {}
        Heard::Line(line) => panic!(
            "max_connections is 2 and two clients were being served; a third client should \
             get an `ERR <reason>` line and be disconnected, but it heard {line:?}"
        ),
        Heard::Closed => panic!(
            "max_connections is 2 and two clients were being served, yet a third client was \
             served too: the server read the end of its input and hung up, where a full server \
             answers `ERR <reason>` and closes. Nothing limits how many connections are served \
             at once"
        ),
        Heard::Nothing => panic!(
            "max_connections is 2 and two clients were being served; a third client heard \
             nothing for {PATIENCE:?}. A full server should answer it `ERR <reason>` at once \
             and close the connection, not leave it waiting in the accept queue"
        ),
    }
    assert_eq!(
        third.hear().await,
        Heard::Closed,
        "after its ERR line, the client that was turned away should be disconnected"
    );

    // The first client leaves: its slot must go to the next client that comes.
    drop(first);
    let mut next = served_soon(server.addr, "the first client disconnected").await;
    assert_eq!(next.request("SET k next").await, "OK");
    assert_eq!(
        second.request("GET k").await,
        "VALUE next",
        "the second client should still be served"
    );
}

#[tokio::test]
async fn a_slot_is_given_back_however_a_connection_ends() {
    // One slot, so that a single slot that is never given back turns every later client away.
    const IDLE_TIMEOUT: Duration = Duration::from_millis(300);
    let server = start(1, IDLE_TIMEOUT).await;
    let addr = server.addr;

    // A client sends bytes that are not UTF-8, then leaves. Whether the server answers `ERR` or
    // ends the connection with an error, the slot must come back.
    let mut garbled = Client::connect(addr, "the client sending garbage").await;
    let _ = garbled.stream.get_mut().write_all(b"GET \xff\xfe\n").await;
    let _ = garbled.hear().await;
    drop(garbled);
    let mut next = served_soon(
        addr,
        "a client sent a line that is not UTF-8 and left (its connection may end with an error)",
    )
    .await;

    // A client sends a malformed command, hears what the server says, and leaves.
    next.send("FROB x").await;
    let _ = next.hear().await;
    drop(next);
    let next = served_soon(addr, "a client sent a malformed command and left").await;

    // A client's connection is reset (its machine crashed, say): the server's read fails.
    next.stream
        .get_ref()
        .set_zero_linger()
        .expect("setting SO_LINGER to zero");
    drop(next);
    let mut next = served_soon(
        addr,
        "a client's connection was reset (the server's read on it failed)",
    )
    .await;

    // A client falls silent until the idle timeout closes its connection.
    match next.hear_past_errors().await {
        Heard::Closed => {}
        heard => panic!(
            "a client that sent nothing more for {PATIENCE:?} should have been disconnected by \
             the {IDLE_TIMEOUT:?} idle timeout, but it heard {heard}"
        ),
    }
    drop(next);
    let mut next = served_soon(addr, "a client was disconnected for being idle").await;

    // A client closes its side cleanly, and waits for the server to close its own.
    next.stream.get_mut().shutdown().await.unwrap();
    let _ = next.hear_past_errors().await;
    drop(next);
    let mut last = served_soon(addr, "a client closed its connection cleanly").await;
    assert_eq!(last.request("SET k v").await, "OK");
}

/// Records the level and text of every event logged on the test's thread while it is installed.
/// The connection tasks run on that thread too: the tests use Tokio's one-thread runtime.
mod logs {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Logs {
        events: Arc<Mutex<Vec<(Level, String)>>>,
        spans: Arc<AtomicU64>,
    }

    impl Logs {
        /// Records every event on this thread until the guard is dropped.
        pub fn record() -> (Logs, tracing::subscriber::DefaultGuard) {
            let logs = Logs::default();
            let guard = tracing::subscriber::set_default(logs.clone());
            (logs, guard)
        }

        /// Every event so far, as `LEVEL text`, the text holding the message and every field.
        pub fn events(&self) -> Vec<(Level, String)> {
            self.events.lock().unwrap().clone()
        }
    }

    struct Text(String);

    impl Visit for Text {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.insert_str(0, &format!("{value:?} "));
            } else {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
    }

    impl Subscriber for Logs {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(self.spans.fetch_add(1, Ordering::Relaxed) + 1)
        }

        fn record(&self, _: &Id, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut text = Text(String::new());
            event.record(&mut text);
            let level = *event.metadata().level();
            self.events
                .lock()
                .unwrap()
                .push((level, text.0.trim_end().to_owned()));
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }
}

#[tokio::test]
async fn a_connection_that_fails_is_reported() {
    let (logs, _recording) = logs::Logs::record();
    let mut server = start(16, FOREVER).await;

    // A client's connection is reset while the server waits for its next command (its machine
    // crashed, say): the server's read on it fails, and the connection ends with that error.
    let mut client = Client::connect(server.addr, "the client").await;
    assert_eq!(client.request("SET k v").await, "OK");
    client
        .stream
        .get_ref()
        .set_zero_linger()
        .expect("setting SO_LINGER to zero");
    drop(client);
    // Another client comes and goes, and the server shuts down: whenever the server reports a
    // failed connection, it has done so by the time `run` returns.
    let mut other = Client::connect(server.addr, "another client").await;
    assert_eq!(other.request("GET k").await, "VALUE v");
    drop(other);
    sleep(Duration::from_millis(50)).await;
    server.shutdown();
    server.stopped("although every client had gone").await;

    let events = logs.events();
    let reported = events
        .iter()
        .any(|(level, _)| *level == tracing::Level::WARN || *level == tracing::Level::ERROR);
    assert!(
        reported,
        "a client's connection was reset while the server was reading from it, so that \
         connection ended with an I/O error, yet nothing was logged at WARN or ERROR level: \
         the error was dropped, and operations cannot learn why clients were cut off. The \
         server logged: {events:?}"
    );
}

/// Counts the bytes allocated and not yet freed, by the test's thread only: the server and all
/// its connection tasks run there (the tests use Tokio's one-thread runtime), and tests running
/// at the same time on other threads do not disturb the count.
mod memory {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<i64> = const { Cell::new(0) };
    }

    fn add(bytes: i64) {
        let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
    }

    /// Bytes this thread has allocated and not freed since it started.
    pub fn live() -> i64 {
        LIVE.with(Cell::get)
    }

    /// The system's allocator, counting. This is the only `unsafe` in the course: the trait
    /// demands it, and every call goes straight to the system allocator.
    pub struct Counting;

    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                add(layout.size() as i64);
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as i64));
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                add(layout.size() as i64);
            }
            ptr
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                add(new_size as i64 - layout.size() as i64);
            }
            new
        }
    }
}

#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

#[tokio::test]
async fn finished_connections_are_not_kept_until_shutdown() {
    /// Clients that come, ask one thing and leave, one after another.
    const CLIENTS: usize = 500;
    /// What the server may keep per client that has left, on average. A finished connection
    /// task kept until shutdown holds several hundred bytes.
    const ALLOWED_PER_CLIENT: i64 = 64;

    let server = start(16, FOREVER).await;
    let visit = |name| async move {
        let mut client = Client::connect(server.addr, name).await;
        let answer = client.request("GET k").await;
        assert_eq!(answer, "NIL", "{name} asked for a key nobody set");
    };
    // Warm up: the server, the runtime and the sockets set up what they keep for good.
    for _ in 0..50 {
        visit("a client").await;
    }
    let before = memory::live();

    for _ in 0..CLIENTS {
        visit("a client").await;
    }
    // One more client, to let the server notice that the others have gone.
    visit("the last client").await;
    sleep(Duration::from_millis(20)).await;
    visit("the last client").await;
    let grown = memory::live() - before;

    assert!(
        grown <= ALLOWED_PER_CLIENT * CLIENTS as i64,
        "after {CLIENTS} clients came, were served and left, one at a time, the server holds \
         {grown} bytes more than before ({} bytes per client that has gone): something is kept \
         for every connection that has ended, such as its finished task, until shutdown. A \
         server that runs for weeks runs out of memory that way",
        grown / CLIENTS as i64
    );
}

#[tokio::test]
async fn an_idle_client_is_disconnected_but_a_busy_one_is_not() {
    const IDLE_TIMEOUT: Duration = Duration::from_millis(300);
    const PAUSE: Duration = Duration::from_millis(20);

    let server = start(16, IDLE_TIMEOUT).await;
    let mut busy = Client::connect(server.addr, "the busy client").await;
    assert_eq!(busy.request("SET k v").await, "OK");

    // The busy client sends a command every 20 ms until told to stop. It counts the answers it
    // gets, and stops at once if it hears anything else.
    let (stop, mut stopped) = oneshot::channel::<()>();
    let chatter = tokio::spawn(async move {
        let mut answered = 0;
        loop {
            busy.send("GET k").await;
            match busy.hear().await {
                Heard::Line(line) if line == "VALUE v" => answered += 1,
                other => return Err((answered, other)),
            }
            tokio::select! {
                _ = &mut stopped => return Ok((busy, answered)),
                () = sleep(PAUSE) => {}
            }
        }
    });
    let cut_off = |answered: usize, heard: Heard| -> ! {
        panic!(
            "the busy client, which sent a command every {PAUSE:?}, was cut off after \
             {answered} answers (it then heard {heard}), although it was never silent for \
             anywhere near idle_timeout ({IDLE_TIMEOUT:?}): the timeout should measure how long \
             a client has been silent, not how long it has been connected"
        )
    };

    // The idle client comes a little later, asks one thing, and then says nothing more.
    sleep(Duration::from_millis(100)).await;
    let mut idle = Client::connect(server.addr, "the idle client").await;
    assert_eq!(idle.request("GET k").await, "VALUE v");
    match idle.hear_past_errors().await {
        Heard::Closed => {}
        Heard::Nothing => panic!(
            "the idle client sent nothing for {PATIENCE:?} and is still connected, although \
             idle_timeout is {IDLE_TIMEOUT:?}: the server waits for its next command forever, so \
             clients that vanished without closing pile up"
        ),
        Heard::Line(line) => panic!("the idle client, which sent nothing, was sent {line:?}"),
    }

    // The busy client, connected longer than the idle one, must still be served.
    let _ = stop.send(());
    let chatted = timeout(PATIENCE, chatter)
        .await
        .expect("the busy client got stuck")
        .expect("the busy client panicked");
    let (mut busy, answered) = chatted.unwrap_or_else(|(answered, heard)| cut_off(answered, heard));
    busy.send("GET k").await;
    match busy.hear().await {
        Heard::Line(line) if line == "VALUE v" => {}
        heard => cut_off(answered, heard),
    }
}

#[tokio::test]
async fn shutdown_lets_an_answer_in_flight_finish() {
    /// Far more than the small socket buffers below can hold, so the server is still writing
    /// the answer while the client has read only its first bytes.
    const SIZE: usize = 8 << 20;
    const BUFFER: u32 = 64 << 10;

    // Accepted sockets inherit the listener's send buffer size; the client's receive buffer is
    // set before it connects.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut server = start_on(socket.listen(16).unwrap(), 16, FOREVER);

    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(BUFFER).unwrap();
    let stream = timeout(PATIENCE, socket.connect(server.addr))
        .await
        .expect("connecting took too long")
        .expect("connecting failed");
    let mut downloader = Client::new(stream, "the downloader");
    let value = "x".repeat(SIZE);
    assert_eq!(downloader.request(&format!("SET big {value}")).await, "OK");

    // The downloader asks for the big value and reads the first bytes of the answer: the server
    // is now in the middle of writing it.
    downloader.send("GET big").await;
    let mut head = [0; 6];
    timeout(PATIENCE, downloader.stream.read_exact(&mut head))
        .await
        .expect("the answer to GET big did not start")
        .expect("the answer to GET big did not start");
    assert_eq!(&head, b"VALUE ");

    server.shutdown();
    // Give a server that stops too early every chance to do so.
    sleep(Duration::from_millis(100)).await;
    assert!(
        !server.task.is_finished(),
        "run returned right after the shutdown signal while a client was in the middle of \
         receiving an answer ({SIZE} bytes, of which it had read 6): either run did not wait for \
         its connections, or the connection dropped its answer when told to stop. In production \
         the process exits as soon as run returns, and the rest of that answer is lost. \
         Shutdown should let the requests in flight finish, and wait for them"
    );

    // A client that comes now must not be served any more.
    let latecomer = TcpStream::connect(server.addr).await.ok();
    let mut latecomer = latecomer.map(|stream| Client::new(stream, "the latecomer"));
    if let Some(latecomer) = &mut latecomer {
        latecomer.send("GET k").await;
    }

    // The answer in flight arrives whole.
    let mut rest = Vec::new();
    let read = timeout(PATIENCE, downloader.stream.read_until(b'\n', &mut rest)).await;
    let received = rest.len();
    assert!(
        read.is_ok(),
        "after the shutdown signal the rest of the answer stalled ({received} of {SIZE} bytes \
         after 'VALUE ' in {PATIENCE:?})"
    );
    assert!(
        received == SIZE + 1 && rest.ends_with(b"\n"),
        "the answer in flight was cut off at shutdown: the downloader got {received} of the \
         {SIZE} bytes after 'VALUE ' (and the newline). Shutdown should let a connection finish \
         the request it is on"
    );
    assert!(rest[..SIZE] == *value.as_bytes(), "the answer was garbled");

    server
        .stopped("although the only request in flight had been answered")
        .await;
    assert_eq!(
        downloader.hear_past_errors().await,
        Heard::Closed,
        "run returned, but the downloader's connection is still open"
    );
    if let Some(latecomer) = &mut latecomer {
        match latecomer.hear_past_errors().await {
            Heard::Closed => {}
            heard => panic!(
                "a client that connected after the shutdown signal should be refused, but it \
                 heard {heard}: the server went on accepting connections while shutting down"
            ),
        }
    }
}

#[tokio::test]
async fn shutdown_closes_idle_connections() {
    let mut server = start(16, FOREVER).await;
    let mut idle = Client::connect(server.addr, "the idle client").await;
    assert_eq!(idle.request("SET k v").await, "OK");

    server.shutdown();
    server
        .stopped("although the only client was idle, between two requests")
        .await;

    match idle.hear_past_errors().await {
        Heard::Closed => {}
        Heard::Nothing => panic!(
            "run returned after the shutdown signal, yet the idle client's connection was still \
             open {PATIENCE:?} later: its task was left running on its own, and in production it \
             is killed mid-request when the process exits. Shutdown should tell every connection \
             to close and wait until they have"
        ),
        Heard::Line(line) => panic!("the idle client, which sent nothing, was sent {line:?}"),
    }
}
