//! These tests compile only once `src/lib.rs` does: until then, the compiler's error is the
//! kata's first test.
//!
//! Every test runs on a paused clock, so the network's round trips take no real time. The tests
//! only ever call notifiers through `Box<dyn Notifier>`, the way the alerting service does.

use std::time::Duration;

use async_trait_objects::{notifier_for, Alert, Channel, Network, Notifier, Request};
use tokio::time::timeout;

/// Far longer than any delivery takes (one round trip is 200 ms).
const PATIENCE: Duration = Duration::from_secs(60);

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
async fn a_failed_delivery_comes_back_as_an_error() {
    let network = Network::default();
    let notifier = notifier("email:oncall@example.com", &network);
    network.set_down(true);

    let Err(err) = deliver(&*notifier).await else {
        panic!("notify returned Ok although the network refused the connection");
    };
    let chain = format!("{err:#}");
    assert!(
        chain.contains("connection refused") && chain.contains("oncall@example.com"),
        "the error from notify should say which channel failed and why (\"connection \
         refused\"), but it says {chain:?}"
    );
    assert!(
        network.received().is_empty(),
        "nothing should have been delivered while the network was down"
    );
}

#[tokio::test(start_paused = true)]
async fn each_channel_delivers_from_its_own_spawned_task() {
    let network = Network::default();
    let notifiers: Vec<Box<dyn Notifier>> = TEAM_CONFIG
        .lines()
        .map(|line| notifier(line, &network))
        .collect();

    let mut tasks = Vec::new();
    for notifier in notifiers {
        let alert = alert();
        tasks.push(tokio::spawn(async move {
            // If this does not compile ("future cannot be sent between threads safely"), the
            // future that `notify` returns through `dyn Notifier` is not `Send`, so it cannot run
            // in a spawned task on a multi-threaded runtime.
            notifier.notify(&alert).await
        }));
    }

    let all_done = async {
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a delivery task panicked"));
        }
        results
    };
    let results = timeout(PATIENCE, all_done).await.unwrap_or_else(|_| {
        panic!("the three spawned deliveries did not finish within 60 s of virtual time")
    });
    for result in results {
        if let Err(err) = result {
            panic!("a spawned delivery failed although the network is up: {err:#}");
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
}
