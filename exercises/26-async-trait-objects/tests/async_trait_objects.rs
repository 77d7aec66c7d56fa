//! These tests compile only once `src/lib.rs` does: until then, the compiler's error is the
//! kata's first test.
//!
//! Every test runs on a paused clock, so the network's round trips take no real time. The tests
//! only ever call notifiers through `Box<dyn Notifier>`, the way the alerting service does.

use std::time::Duration;

use async_trait_objects::{notifier_for, Alert, Channel, Network, Notifier, Request};
use tokio::time::{sleep, timeout, Instant};

// The two halves of each check (see the module at the end); one of each pair goes unused.
#[allow(unused_imports)]
use send_check::{CannotSpawn as _, IsNotSend as _, IsSend as _, SpawnSend as _};
use send_check::{Probe, Spawner};

/// Far longer than any delivery takes (one round trip is 200 ms).
const PATIENCE: Duration = Duration::from_secs(60);

/// One round trip of the fake network.
const ROUND_TRIP: Duration = Duration::from_millis(200);

/// A team that wants its alerts on all three channels.
const TEAM_CONFIG: &str = "\
email:oncall@example.com
webhook:https://chat.example.com/hooks/T01/B02
sms:+15550100";

fn alert() -> Alert {
    Alert {
        service: "checkout".to_string(),
        summary: "error rate above 5%".to_string(),
    }
}

/// Parses one config line and builds its notifier, as the alerting service does at startup.
fn notifier(line: &str, network: &Network) -> Box<dyn Notifier> {
    let channel: Channel = line
        .parse()
        .unwrap_or_else(|err| panic!("the config line {line:?} should parse: {err:#}"));
    notifier_for(&channel, network)
}

/// Delivers `alert()` through the trait object, for at most 60 s of virtual time.
async fn deliver(notifier: &dyn Notifier) -> anyhow::Result<()> {
    let alert = alert();
    timeout(PATIENCE, notifier.notify(&alert))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "notify through `dyn Notifier` ({}) did not return within 60 s of virtual time, \
                 although one round trip takes 200 ms: it is stuck",
                notifier.describe()
            )
        })
}

#[tokio::test(start_paused = true)]
async fn an_email_channel_sends_an_email() {
    let network = Network::default();
    let notifier = notifier("email:oncall@example.com", &network);

    if let Err(err) = deliver(&*notifier).await {
        panic!("delivering by email failed although the network is up: {err:#}");
    }

    let received = network.received();
    let [Request::Email { to, subject }] = received.as_slice() else {
        panic!(
            "an `email:` channel should send exactly one email through the trait object, but \
             the network received {received:?}: the wrong implementation was called"
        );
    };
    assert_eq!(
        to, "oncall@example.com",
        "the email went to the wrong address"
    );
    assert!(
        subject.contains("checkout") && subject.contains("error rate above 5%"),
        "the email's subject should name the service and the alert: {subject:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_webhook_channel_posts_to_the_webhook() {
    let network = Network::default();
    let notifier = notifier("webhook:https://chat.example.com/hooks/T01/B02", &network);

    if let Err(err) = deliver(&*notifier).await {
        panic!("delivering to the webhook failed although the network is up: {err:#}");
    }

    let received = network.received();
    let [Request::Webhook { url, json }] = received.as_slice() else {
        panic!(
            "a `webhook:` channel should make exactly one webhook call through the trait \
             object, but the network received {received:?}: the wrong implementation was called"
        );
    };
    assert_eq!(
        url, "https://chat.example.com/hooks/T01/B02",
        "the webhook call went to the wrong URL"
    );
    assert!(
        json.contains("checkout") && json.contains("error rate above 5%"),
        "the webhook's JSON body should name the service and the alert: {json:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_sms_channel_texts_the_number() {
    let network = Network::default();
    let notifier = notifier("sms:+15550100", &network);

    if let Err(err) = deliver(&*notifier).await {
        panic!("delivering by SMS failed although the network is up: {err:#}");
    }

    let received = network.received();
    let [Request::Sms { number, text }] = received.as_slice() else {
        panic!(
            "an `sms:` channel should send exactly one text message through the trait object, \
             but the network received {received:?}: the wrong implementation was called"
        );
    };
    assert_eq!(
        number, "+15550100",
        "the text message went to the wrong number"
    );
    assert!(
        text.contains("checkout") && text.contains("error rate above 5%"),
        "the text message should name the service and the alert: {text:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_delivery_names_the_channel_and_its_cause() {
    for (line, target) in [
        ("email:oncall@example.com", "oncall@example.com"),
        (
            "webhook:https://chat.example.com/hooks/T01/B02",
            "https://chat.example.com/hooks/T01/B02",
        ),
        ("sms:+15550100", "+15550100"),
    ] {
        let network = Network::default();
        let notifier = notifier(line, &network);
        network.set_down(true);

        let Err(err) = deliver(&*notifier).await else {
            panic!("notify ({line}) returned Ok although the network refused the connection");
        };
        let chain = format!("{err:#}");
        assert_eq!(
            err.root_cause().to_string(),
            "connection refused",
            "the error from notify ({line}) should still hold the network's own error, \
             \"connection refused\", as its root cause; the chain is {chain:?}"
        );
        assert!(
            err.chain().skip(1).count() >= 1
                && err
                    .chain()
                    .take(err.chain().count() - 1)
                    .any(|link| link.to_string().contains(target)),
            "the error from notify ({line}) should say which channel failed, {target}, in a \
             context around the network's error, but the chain is {chain:?}"
        );
        assert!(
            network.received().is_empty(),
            "nothing should have been delivered while the network was down"
        );

        // The same notifier delivers again once the network is back.
        network.set_down(false);
        if let Err(err) = deliver(&*notifier).await {
            panic!("after a failed delivery, the same notifier ({line}) failed again although the network is back up: {err:#}");
        }
        assert_eq!(
            network.received().len(),
            1,
            "after a failed delivery, the same notifier ({line}) should deliver the next alert"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_delivery_runs_only_while_its_future_is_awaited() {
    let network = Network::default();
    let notifier = notifier("email:oncall@example.com", &network);
    let alert = alert();

    // A future does nothing until it is awaited: calling notify only makes the future.
    let delivery = notifier.notify(&alert);
    sleep(Duration::from_secs(1)).await;
    assert!(
        network.received().is_empty(),
        "calling notify, without awaiting its future, already delivered the alert: the \
         delivery should run only when, and only while, the future is awaited"
    );

    // A caller that gives up after 100 ms (a round trip takes 200 ms) drops the future, and the
    // delivery with it.
    let gave_up = timeout(Duration::from_millis(100), delivery).await.is_err();
    assert!(
        gave_up,
        "a delivery finished within 100 ms, but a round trip takes 200 ms"
    );
    sleep(Duration::from_secs(1)).await;
    assert!(
        network.received().is_empty(),
        "the caller gave up on a delivery after 100 ms and dropped its future, yet the alert \
         was delivered afterwards: the delivery went on somewhere the caller cannot stop it"
    );

    if let Err(err) = deliver(&*notifier).await {
        panic!("delivering by email failed although the network is up: {err:#}");
    }
    assert_eq!(
        network.received().len(),
        1,
        "an awaited delivery should arrive exactly once"
    );
}

#[tokio::test(start_paused = true)]
async fn the_future_behind_dyn_notifier_is_send() {
    let network = Network::default();
    for line in TEAM_CONFIG.lines() {
        let notifier = notifier(line, &network);
        let alert = alert();
        let delivery = notifier.notify(&alert);
        // The `&` picks between the two checks: it is needed, whatever clippy says.
        #[allow(clippy::needless_borrow)]
        let is_send = (&Probe::of(&delivery)).is_send();
        assert!(
            is_send,
            "the future that notify returns through `dyn Notifier` ({line}) is not Send, so it \
             cannot be handed to tokio::spawn on a multi-threaded runtime, and the alerting \
             service delivers each alert from a spawned task. Every implementation must \
             return a future that is Send"
        );
        delivery
            .await
            .unwrap_or_else(|err| panic!("delivering ({line}) failed: {err:#}"));
    }
}

/// Delivers one alert with a notifier it owns: what a spawned delivery task runs.
async fn deliver_owned(notifier: Box<dyn Notifier>, alert: Alert) -> anyhow::Result<()> {
    notifier.notify(&alert).await
}

#[tokio::test(start_paused = true)]
async fn each_channel_delivers_from_its_own_spawned_task() {
    let network = Network::default();
    let start = Instant::now();

    let mut tasks = Vec::new();
    for line in TEAM_CONFIG.lines() {
        let delivery = Spawner::new(deliver_owned(notifier(line, &network), alert()));
        // The `&` picks between the two ways to spawn: it is needed, whatever clippy says.
        #[allow(clippy::needless_borrow)]
        let task = (&delivery).spawn_delivery();
        let Some(task) = task else {
            panic!(
                "a delivery through `dyn Notifier` ({line}) cannot be spawned: the future that \
                 notify returns is not Send, and tokio::spawn needs a Send future"
            );
        };
        tasks.push(task);
    }

    let all_done = async {
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        results
    };
    let results = timeout(PATIENCE, all_done).await.unwrap_or_else(|_| {
        panic!("the three spawned deliveries did not finish within 60 s of virtual time")
    });
    let took = start.elapsed();
    for result in results {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                panic!("a spawned delivery failed although the network is up: {err:#}")
            }
            Err(err) => panic!("a spawned delivery task failed: {err}"),
        }
    }

    let mut kinds: Vec<&str> = network
        .received()
        .iter()
        .map(|request| match request {
            Request::Email { .. } => "email",
            Request::Webhook { .. } => "webhook",
            Request::Sms { .. } => "sms",
        })
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["email", "sms", "webhook"],
        "a team with an email, a webhook and an SMS channel should get the alert once on each"
    );
    assert!(
        took <= ROUND_TRIP,
        "three deliveries spawned at once took {took:?} of virtual time together, although one \
         round trip takes {ROUND_TRIP:?}: they ran one after another instead of side by side"
    );
}

/// Checking whether a future is `Send` without failing to compile when it is not, so that a
/// library whose `notify` returns a future that is not `Send` still compiles against these tests,
/// and the test can say so in its own words.
///
/// Both checks rest on how Rust picks a method: for `(&value).method()`, it first looks for a
/// `method` taking `&self` on the value's own type, and only then on `&` of it. The first trait
/// below is implemented only for types that are `Send`; the second for every type, one `&`
/// further out. So the compiler picks the first when the type is `Send`, and the second when it
/// is not, and the choice is made while compiling: nothing is tried at run time.
mod send_check {
    // One half of each check is never picked, depending on the library.
    #![allow(dead_code)]

    use std::cell::RefCell;
    use std::future::Future;
    use std::marker::PhantomData;

    use tokio::task::JoinHandle;

    /// Stands for a value of type `T` without holding one.
    pub struct Probe<T>(PhantomData<T>);

    impl<T> Probe<T> {
        pub fn of(_value: &T) -> Probe<T> {
            Probe(PhantomData)
        }
    }

    pub trait IsSend {
        fn is_send(&self) -> bool {
            true
        }
    }

    impl<T: Send> IsSend for Probe<T> {}

    pub trait IsNotSend {
        fn is_send(&self) -> bool {
            false
        }
    }

    impl<T> IsNotSend for &Probe<T> {}

    /// Holds a delivery future until it is spawned.
    pub struct Spawner<F>(RefCell<Option<F>>);

    impl<F> Spawner<F> {
        pub fn new(future: F) -> Spawner<F> {
            Spawner(RefCell::new(Some(future)))
        }
    }

    type Delivery = anyhow::Result<()>;

    pub trait SpawnSend {
        fn spawn_delivery(&self) -> Option<JoinHandle<Delivery>>;
    }

    impl<F> SpawnSend for Spawner<F>
    where
        F: Future<Output = Delivery> + Send + 'static,
    {
        fn spawn_delivery(&self) -> Option<JoinHandle<Delivery>> {
            self.0.borrow_mut().take().map(tokio::spawn)
        }
    }

    pub trait CannotSpawn {
        fn spawn_delivery(&self) -> Option<JoinHandle<Delivery>> {
            None
        }
    }

    impl<F> CannotSpawn for &Spawner<F> {}
}
