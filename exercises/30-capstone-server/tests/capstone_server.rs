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

    // The first client leaves: its slot must go to the next client that comes. The server
    // notices the departure only when it reads the end of the first client's stream, so a
    // client that comes right away may still be turned away: retry for a while.
    drop(first);
    let next = async {
        loop {
            let mut next = Client::connect(server.addr, "the next client").await;
            next.send("GET k").await;
            match next.hear().await {
                Heard::Line(line) if line.starts_with("VALUE") => return next,
                Heard::Line(_) | Heard::Closed => sleep(Duration::from_millis(10)).await,
                Heard::Nothing => panic!(
                    "a client that came after the first one had left heard nothing for \
                     {PATIENCE:?}: it was neither served nor turned away"
                ),
            }
        }
    };
    let mut next = timeout(PATIENCE, next).await.unwrap_or_else(|_| {
        panic!(
            "the first client disconnected, yet for {PATIENCE:?} every new client was still \
             turned away: the first connection's slot was never given back"
        )
    });

    assert_eq!(next.request("SET k next").await, "OK");
    assert_eq!(
        second.request("GET k").await,
        "VALUE next",
        "the second client should still be served"
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
             {answered} answers (it then heard {heard:?}), although it was never silent for \
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
                 heard {heard:?}: the server went on accepting connections while shutting down"
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
