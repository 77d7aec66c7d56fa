//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. So waiting "60 s" for an event or a
//! config update that is never going to come costs no real time, and the test fails at once with
//! a message instead of hanging.

use std::ops::Range;
use std::time::Duration;

use broadcast_and_watch::{Config, ConfigReader, Event, Hub, RecvError, Subscriber};
use tokio::time::{sleep, timeout};

/// Far longer than anything in these tests takes.
const PATIENCE: Duration = Duration::from_secs(60);

/// How many unread events the hub keeps for a slow subscriber, in the tests that make one lag.
const BACKLOG: usize = 4;

fn event(seq: u64) -> Event {
    Event {
        seq,
        text: format!("order {seq} shipped"),
    }
}

fn config(version: u64) -> Config {
    Config {
        version,
        rate_limit: 1000 / version as u32,
    }
}

/// Publishes the events numbered `seqs`, one after another. A publish that is held up fails the
/// test with a message; `situation` says who was (not) reading at the time.
async fn publish_all(hub: &Hub, seqs: Range<u64>, situation: &str) {
    for seq in seqs {
        if timeout(PATIENCE, hub.publish(event(seq))).await.is_err() {
            panic!(
                "publishing event #{seq} {situation} was still waiting 60 s (virtual) later: the \
                 publisher is held up by a full queue that nobody reads. A subscriber that falls \
                 behind (or no subscriber at all) must never stall the publisher: past the \
                 backlog it loses the oldest events and is told so"
            );
        }
    }
}

/// The subscriber's next event, or `None` if nothing arrives within `PATIENCE`.
async fn next(subscriber: &mut Subscriber) -> Option<Result<Event, RecvError>> {
    timeout(PATIENCE, subscriber.recv()).await.ok()
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_sees_every_event_in_order() {
    const SUBSCRIBERS: usize = 3;
    const EVENTS: u64 = 5;
    let hub = Hub::new(16, config(1));

    // Three sessions, each reading in its own task, as they would in a server.
    let sessions: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let mut subscriber = hub.subscribe();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while seen.len() < EVENTS as usize {
                    match next(&mut subscriber).await {
                        Some(Ok(event)) => seen.push(event.seq),
                        Some(Err(err)) => return (seen, Some(err)),
                        None => break,
                    }
                }
                (seen, None)
            })
        })
        .collect();

    // Every session is now waiting. Publish one event every 100 ms.
    sleep(Duration::from_millis(10)).await;
    for seq in 0..EVENTS {
        publish_all(&hub, seq..seq + 1, "to 3 waiting subscribers").await;
        sleep(Duration::from_millis(100)).await;
    }

    let mut seen = Vec::new();
    for session in sessions {
        seen.push(session.await.expect("a session task panicked"));
    }
    let all: Vec<&Vec<u64>> = seen.iter().map(|(events, _)| events).collect();
    let total: usize = all.iter().map(|events| events.len()).sum();
    let expected: Vec<u64> = (0..EVENTS).collect();
    for (i, (events, err)) in seen.iter().enumerate() {
        if let Some(err) = err {
            panic!(
                "subscriber #{} got {err:?} from recv after events {events:?}, although it was \
                 keeping up and the hub was alive",
                i + 1
            );
        }
        let why = if total == EVENTS as usize {
            "each event reached exactly one subscriber: the subscribers take turns on one shared \
             queue, so the events are split between them instead of copied to each"
        } else {
            "every subscriber must see every event, in the order it was published"
        };
        assert_eq!(
            events,
            &expected,
            "{EVENTS} events were published to {SUBSCRIBERS} subscribers, and subscriber #{} saw \
             {events:?} (the three saw {all:?}): {why}",
            i + 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_does_not_block_the_publisher() {
    let hub = Hub::new(BACKLOG, config(1));

    publish_all(
        &hub,
        0..20,
        "while no session was subscribed (backlog of 4 events)",
    )
    .await;

    let _stalled = hub.subscribe();
    publish_all(
        &hub,
        20..40,
        "while the only subscriber read nothing (backlog of 4 events)",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_is_told_how_many_events_it_missed() {
    const PUBLISHED: u64 = 10;
    let hub = Hub::new(BACKLOG, config(1));
    let mut slow = hub.subscribe();

    publish_all(
        &hub,
        0..PUBLISHED,
        "to a subscriber that was not reading (backlog of 4 events)",
    )
    .await;

    let behind = format!(
        "{PUBLISHED} events were published while the subscriber read none, and the hub keeps a \
         backlog of {BACKLOG}"
    );
    let missed = match next(&mut slow).await {
        Some(Err(RecvError::Lagged(missed))) => missed,
        Some(Ok(event)) if event.seq == 0 => panic!(
            "{behind}, yet its first recv returned event #0 instead of RecvError::Lagged: the hub \
             queued every event for it, without limit. A subscriber that falls behind the \
             backlog must lose the oldest events and be told how many"
        ),
        Some(Ok(event)) => panic!(
            "{behind}. Its first recv returned event #{} without saying that events #0 to #{} \
             were lost: a lagging subscriber must get RecvError::Lagged(missed) first, not skip \
             events silently",
            event.seq,
            event.seq - 1
        ),
        Some(Err(RecvError::Closed)) => panic!(
            "{behind}. Its first recv returned RecvError::Closed although the hub is alive: \
             falling behind is not the end of the stream, report RecvError::Lagged and carry on"
        ),
        None => panic!(
            "{behind}. Its first recv got nothing within 60 s (virtual): the events never \
             reached it"
        ),
    };

    // After the lag: the events the hub still holds, oldest first, up to the last one published.
    let last = PUBLISHED - 1;
    let mut rest = Vec::new();
    while rest.last() != Some(&last) {
        match next(&mut slow).await {
            Some(Ok(event)) => rest.push(event.seq),
            other => panic!(
                "after RecvError::Lagged({missed}) the subscriber should get the events the hub \
                 still holds, up to #{last}; after {rest:?} its recv returned {other:?} \
                 (None: nothing within 60 s)"
            ),
        }
    }
    let kept = rest.len() as u64;
    let expected: Vec<u64> = (PUBLISHED - kept..PUBLISHED).collect();
    assert_eq!(
        rest, expected,
        "after RecvError::Lagged({missed}) the remaining events must come oldest first, with no \
         gaps, up to the last one published"
    );
    assert_eq!(
        missed + kept,
        PUBLISHED,
        "RecvError::Lagged({missed}) must count exactly the events the subscriber lost: it then \
         got {kept} of the {PUBLISHED} published, so it lost {}",
        PUBLISHED - kept
    );
    assert!(
        kept >= BACKLOG as u64,
        "the hub keeps a backlog of {BACKLOG} events, but after lagging the subscriber got only \
         {rest:?}"
    );

    // Having caught up, it is an ordinary subscriber again.
    publish_all(
        &hub,
        PUBLISHED..PUBLISHED + 1,
        "after the subscriber caught up",
    )
    .await;
    let after = next(&mut slow).await;
    assert!(
        matches!(&after, Some(Ok(event)) if event.seq == PUBLISHED),
        "after catching up, the subscriber must get the next event (#{PUBLISHED}) as usual, but \
         its recv returned {after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn every_reader_sees_the_latest_config() {
    const READERS: usize = 3;
    let hub = Hub::new(BACKLOG, config(1));

    // An update made before any session exists (at start-up, say) must not be lost.
    hub.set_config(config(2));
    let mut readers: Vec<ConfigReader> = (0..READERS).map(|_| hub.config()).collect();
    let versions: Vec<u64> = readers.iter_mut().map(|r| r.current().version).collect();
    assert!(
        versions.iter().all(|&v| v == 2),
        "the config was set to version 2 before the {READERS} readers were created, but they see \
         versions {versions:?}: an update made while nobody was reading was lost"
    );

    hub.set_config(config(3));
    hub.set_config(config(4));
    let versions: Vec<u64> = readers.iter_mut().map(|r| r.current().version).collect();
    assert!(
        versions.iter().all(|&v| v == 4),
        "the config was set to version 3 and then 4, but the {READERS} readers see versions \
         {versions:?}: some of them read a stale copy that the updates never reached. Every \
         reader must see the latest config"
    );

    let late = hub.config().current().version;
    assert_eq!(
        late, 4,
        "a reader created after the config was set to version 4 sees version {late}"
    );
}

#[tokio::test(start_paused = true)]
async fn every_waiting_reader_is_woken_by_a_config_change() {
    const READERS: usize = 3;
    let hub = Hub::new(BACKLOG, config(1));

    // Three sessions wait for the config to change, each in its own task.
    let sessions: Vec<_> = (0..READERS)
        .map(|_| {
            let mut reader = hub.config();
            tokio::spawn(async move { timeout(PATIENCE, reader.changed()).await })
        })
        .collect();

    sleep(Duration::from_secs(1)).await;
    hub.set_config(config(2));

    let mut outcomes = Vec::new();
    for session in sessions {
        outcomes.push(session.await.expect("a reader task panicked"));
    }
    let woken = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Some(config)) => assert_eq!(
                config.version,
                2,
                "reader #{} was woken with config version {} instead of the new version 2",
                i + 1,
                config.version
            ),
            Ok(None) => panic!(
                "reader #{}: changed() returned None (\"the hub is gone\") although the hub is \
                 alive and the config was just set to version 2",
                i + 1
            ),
            Err(_) => panic!(
                "{READERS} readers were waiting in changed() when the config was set to version \
                 2, but only {woken} of them returned: reader #{} was still waiting 60 s \
                 (virtual) later. The update reached only some of the readers; every waiting \
                 reader must be woken by a change",
                i + 1
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn changed_returns_only_updates_the_reader_has_not_seen() {
    let hub = Hub::new(BACKLOG, config(1));
    let mut reader = hub.config();
    assert_eq!(
        reader.current().version,
        1,
        "a new reader must see the config the hub started with"
    );

    // The update lands while the session is busy, between `current` and `changed`.
    hub.set_config(config(2));
    match timeout(PATIENCE, reader.changed()).await {
        Ok(Some(config)) => assert_eq!(
            config.version, 2,
            "changed() returned config version {} instead of the new version 2",
            config.version
        ),
        Ok(None) => panic!(
            "changed() returned None (\"the hub is gone\") although the hub is alive and the \
             config was just set to version 2"
        ),
        Err(_) => panic!(
            "the config was set to version 2 after the reader last looked, but changed() was \
             still waiting 60 s (virtual) later: an update made just before the call was missed, \
             so a reload loop would run on the old config until the next change"
        ),
    }

    // Nothing new since: `changed` must wait, not hand out the same config again.
    let again = timeout(PATIENCE, reader.changed()).await;
    assert!(
        again.is_err(),
        "the reader had already seen version 2 and nothing changed since, yet changed() \
         returned {again:?} at once: a reload loop would spin instead of waiting"
    );
    assert_eq!(
        reader.current().version,
        2,
        "after changed() returned version 2, current() must return it too"
    );
}
