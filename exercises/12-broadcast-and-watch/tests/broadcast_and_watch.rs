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

/// The reader's next unseen config: `Ok(None)` once the hub is gone, `Err` if nothing came
/// within `PATIENCE`.
async fn next_config(reader: &mut ConfigReader) -> Result<Option<Config>, ()> {
    timeout(PATIENCE, reader.changed()).await.map_err(|_| ())
}

/// What `next` got, in words.
fn shown(next: &Option<Result<Event, RecvError>>) -> String {
    match next {
        Some(Ok(event)) => format!("event #{}", event.seq),
        Some(Err(err)) => format!("Err({err:?})"),
        None => "nothing within 60 s (virtual)".to_string(),
    }
}

/// What `next_config` got, in words.
fn shown_config(next: &Result<Option<Config>, ()>) -> String {
    match next {
        Ok(Some(config)) => format!("version {}", config.version),
        Ok(None) => "None (\"the hub is gone\")".to_string(),
        Err(()) => "nothing within 60 s (virtual)".to_string(),
    }
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_sees_every_event_in_order() {
    const SUBSCRIBERS: usize = 3;
    // Five events one at a time, then a burst of eight published back to back.
    const SPACED: u64 = 5;
    const EVENTS: u64 = SPACED + 8;
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

    // Every session is now waiting. Publish one event every 100 ms...
    sleep(Duration::from_millis(10)).await;
    for seq in 0..SPACED {
        publish_all(&hub, seq..seq + 1, "to 3 waiting subscribers").await;
        sleep(Duration::from_millis(100)).await;
    }
    // ... then a burst, faster than the sessions get to run.
    publish_all(&hub, SPACED..EVENTS, "in a burst, to 3 subscribers").await;

    let mut seen = Vec::new();
    for session in sessions {
        match session.await {
            Ok(result) => seen.push(result),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    let all: Vec<&Vec<u64>> = seen.iter().map(|(events, _)| events).collect();
    let total: usize = all.iter().map(|events| events.len()).sum();
    let expected: Vec<u64> = (0..EVENTS).collect();
    for (i, (events, err)) in seen.iter().enumerate() {
        if let Some(err) = err {
            panic!(
                "subscriber #{} got {err:?} from recv after events {events:?}, although it was \
                 keeping up (the backlog is 16 events) and the hub was alive",
                i + 1
            );
        }
        let why = if total == EVENTS as usize {
            "each event reached exactly one subscriber: the subscribers take turns on one shared \
             queue, so the events are split between them instead of copied to each"
        } else if events.starts_with(&expected[..SPACED as usize]) {
            "the events published one at a time arrived, but of the burst only some did: an \
             event published before the subscriber read the previous one must not replace it"
        } else {
            "every subscriber must see every event, in the order it was published"
        };
        assert_eq!(
            events,
            &expected,
            "{EVENTS} events were published to {SUBSCRIBERS} subscribers ({SPACED} one every \
             100 ms, then a burst of {}), and subscriber #{} saw {events:?} (the three saw \
             {all:?}): {why}",
            EVENTS - SPACED,
            i + 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_does_not_block_the_publisher() {
    for backlog in [1, BACKLOG] {
        let hub = Hub::new(backlog, config(1));

        publish_all(
            &hub,
            0..20,
            &format!("while no session was subscribed (backlog of {backlog})"),
        )
        .await;

        let _stalled = hub.subscribe();
        publish_all(
            &hub,
            20..40,
            &format!("while the only subscriber read nothing (backlog of {backlog})"),
        )
        .await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_within_the_backlog_misses_nothing() {
    for backlog in [1, 3, BACKLOG, 5] {
        let hub = Hub::new(backlog, config(1));
        let mut idle = hub.subscribe();

        // Exactly as many events as the backlog holds, while the subscriber reads none.
        let published = backlog as u64;
        publish_all(
            &hub,
            0..published,
            &format!("to a subscriber that was not reading (backlog of {backlog})"),
        )
        .await;

        let mut got = Vec::new();
        while got.len() < backlog {
            match next(&mut idle).await {
                Some(Ok(event)) => got.push(event.seq),
                other => panic!(
                    "with a backlog of {backlog}, {published} events were published while the \
                     subscriber read none: it was never more than the backlog behind, so it must \
                     get all of them, in order. After {got:?} its recv returned {}",
                    shown(&other)
                ),
            }
        }
        let expected: Vec<u64> = (0..published).collect();
        assert_eq!(
            got, expected,
            "with a backlog of {backlog}, a subscriber {published} events behind must get all of \
             them, oldest first"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_is_told_how_many_events_it_missed() {
    // (backlog, events published while the subscriber reads none)
    for (backlog, published) in [(BACKLOG, 10), (1, 3), (5, 20)] {
        let hub = Hub::new(backlog, config(1));
        let mut slow = hub.subscribe();

        publish_all(
            &hub,
            0..published,
            &format!("to a subscriber that was not reading (backlog of {backlog})"),
        )
        .await;

        let behind = format!(
            "{published} events were published while the subscriber read none, and the hub \
             keeps a backlog of {backlog}"
        );
        let missed = match next(&mut slow).await {
            Some(Err(RecvError::Lagged(missed))) => missed,
            Some(Ok(event)) if event.seq == 0 => panic!(
                "{behind}, yet its first recv returned event #0 instead of RecvError::Lagged: the \
                 hub queued every event for it, without limit. A subscriber that falls behind \
                 the backlog must lose the oldest events and be told how many"
            ),
            Some(Ok(event)) => panic!(
                "{behind}. Its first recv returned event #{} without saying that events #0 to \
                 #{} were lost: a lagging subscriber must get RecvError::Lagged(missed) first, \
                 not skip events silently",
                event.seq,
                event.seq - 1
            ),
            Some(Err(RecvError::Closed)) => panic!(
                "{behind}. Its first recv returned RecvError::Closed although the hub is alive: \
                 falling behind is not the end of the stream, report RecvError::Lagged and carry \
                 on"
            ),
            None => panic!(
                "{behind}. Its first recv got nothing within 60 s (virtual): the events never \
                 reached it"
            ),
        };

        // After the lag: the events the hub still holds, oldest first, up to the last one.
        let last = published - 1;
        let mut rest = Vec::new();
        while rest.last() != Some(&last) {
            match next(&mut slow).await {
                Some(Ok(event)) => rest.push(event.seq),
                other => panic!(
                    "{behind}. After RecvError::Lagged({missed}) the subscriber should get the \
                     events the hub still holds, up to #{last}; after {rest:?} its recv \
                     returned {}. The hub must drop the oldest events, not the newest",
                    shown(&other)
                ),
            }
        }
        let kept = rest.len() as u64;
        let expected: Vec<u64> = (published - kept..published).collect();
        assert_eq!(
            rest, expected,
            "{behind}. After RecvError::Lagged({missed}) the remaining events must come oldest \
             first, with no gaps, up to the last one published"
        );
        assert_eq!(
            missed + kept,
            published,
            "{behind}. RecvError::Lagged({missed}) must count exactly the events the subscriber \
             lost: it then got {kept} of the {published} published, so it lost {}",
            published - kept
        );
        assert!(
            kept >= backlog as u64,
            "the hub keeps a backlog of {backlog} events, but after lagging the subscriber got \
             only {rest:?}"
        );

        // Having caught up, it is an ordinary subscriber again.
        publish_all(
            &hub,
            published..published + 1,
            "after the subscriber caught up",
        )
        .await;
        let after = next(&mut slow).await;
        assert!(
            matches!(&after, Some(Ok(event)) if event.seq == published),
            "after catching up, the subscriber must get the next event (#{published}) as usual, \
             but its recv returned {}",
            shown(&after)
        );
    }
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

    // Three sessions wait for the config to change, twice, each in its own task.
    let sessions: Vec<_> = (0..READERS)
        .map(|_| {
            let mut reader = hub.config();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..2 {
                    match next_config(&mut reader).await {
                        Ok(Some(config)) => got.push(Ok(Some(config.version))),
                        other => {
                            got.push(other.map(|c| c.map(|c| c.version)));
                            break;
                        }
                    }
                }
                got
            })
        })
        .collect();

    for version in [2, 3] {
        sleep(Duration::from_secs(1)).await;
        hub.set_config(config(version));
    }

    let mut outcomes = Vec::new();
    for session in sessions {
        match session.await {
            Ok(got) => outcomes.push(got),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    let expected = vec![Ok(Some(2)), Ok(Some(3))];
    if outcomes.iter().any(|got| *got != expected) {
        let seen: Vec<String> = outcomes
            .iter()
            .enumerate()
            .map(|(i, got)| {
                let steps: Vec<String> = got
                    .iter()
                    .map(|outcome| match outcome {
                        Ok(Some(version)) => format!("woken with version {version}"),
                        Ok(None) => "got None (\"the hub is gone\")".to_string(),
                        Err(()) => "still waiting 60 s (virtual) later".to_string(),
                    })
                    .collect();
                format!("reader #{}: {}", i + 1, steps.join(", then "))
            })
            .collect();
        panic!(
            "{READERS} readers waited in changed() while the config was set to version 2 and, a \
             second later, to version 3. Each must be woken by each change, with the new config, \
             but {}. An update that wakes only one of the waiting readers is a work queue, not \
             a shared latest value",
            seen.join("; ")
        );
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
    match next_config(&mut reader).await {
        Ok(Some(config)) => assert_eq!(
            config.version, 2,
            "changed() returned config version {} instead of the new version 2",
            config.version
        ),
        Ok(None) => panic!(
            "changed() returned None (\"the hub is gone\") although the hub is alive and the \
             config was just set to version 2"
        ),
        Err(()) => panic!(
            "the config was set to version 2 after the reader last looked, but changed() was \
             still waiting 60 s (virtual) later: an update made just before the call was missed, \
             so a reload loop would run on the old config until the next change"
        ),
    }

    // Nothing new since: `changed` must wait, not hand out the same config again.
    let again = next_config(&mut reader).await;
    assert!(
        again.is_err(),
        "the reader had already seen version 2 and nothing changed since, yet changed() \
         returned {} at once: a reload loop would spin instead of waiting",
        shown_config(&again)
    );
    assert_eq!(
        reader.current().version,
        2,
        "after changed() returned version 2, current() must return it too"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_loop_sees_each_config_once() {
    let hub = Hub::new(BACKLOG, config(1));
    let mut reader = hub.config();

    // The session starts: the config was updated since the reader was made, and it reads it.
    hub.set_config(config(2));
    let applied = reader.current().version;
    assert_eq!(
        applied, 2,
        "current() must return the latest config, version 2"
    );
    let again = next_config(&mut reader).await;
    assert!(
        again.is_err(),
        "the reader read version 2 with current() and nothing changed since, yet changed() \
         returned {} at once: a reload loop (current, apply, changed, apply, ...) would apply \
         version 2 twice. A config read with current() has been seen",
        shown_config(&again)
    );

    // Two updates while the session is busy: it wants the latest, not a history to wade through.
    hub.set_config(config(3));
    hub.set_config(config(4));
    let got = next_config(&mut reader).await;
    assert!(
        matches!(&got, Ok(Some(config)) if config.version == 4),
        "the config was set to version 3 and then 4 while the reader was busy; changed() must \
         return the latest, version 4, but it returned {}. A reader wants the current config, \
         not every outdated version on the way",
        shown_config(&got)
    );
    let again = next_config(&mut reader).await;
    assert!(
        again.is_err(),
        "changed() returned version 4 and nothing changed since, yet the next changed() \
         returned {} at once: the reload loop would apply a config it already has",
        shown_config(&again)
    );

    // And once more through current(): an update read with it is not handed out again.
    hub.set_config(config(5));
    let applied = reader.current().version;
    assert_eq!(
        applied, 5,
        "current() must return the latest config, version 5"
    );
    let again = next_config(&mut reader).await;
    assert!(
        again.is_err(),
        "the reader read version 5 with current() and nothing changed since, yet changed() \
         returned {} at once: a reload loop would apply version 5 twice",
        shown_config(&again)
    );
}

#[tokio::test(start_paused = true)]
async fn subscribers_and_readers_learn_that_the_hub_is_gone() {
    let hub = Hub::new(BACKLOG, config(1));
    let mut subscriber = hub.subscribe();
    let mut reader = hub.config();
    hub.set_config(config(2));
    assert_eq!(
        reader.current().version,
        2,
        "current() must return version 2"
    );
    publish_all(&hub, 0..2, "to one subscriber").await;

    // The service shuts the hub down; the sessions are still open.
    drop(hub);

    let mut got = Vec::new();
    let end = loop {
        match next(&mut subscriber).await {
            Some(Ok(event)) if got.len() < 2 => got.push(event.seq),
            other => break other,
        }
    };
    assert_eq!(
        got,
        vec![0, 1],
        "the two events published before the hub was dropped must still reach the subscriber"
    );
    assert!(
        matches!(end, Some(Err(RecvError::Closed))),
        "after the hub was dropped and the subscriber read the last event, recv must return \
         RecvError::Closed, but it returned {}: a session must learn that the stream has ended",
        shown(&end)
    );

    let changed = next_config(&mut reader).await;
    assert!(
        matches!(changed, Ok(None)),
        "after the hub was dropped, changed() must return None (\"the hub is gone\"), but it \
         returned {}: a reload loop must learn that no update will ever come, or it never ends",
        shown_config(&changed)
    );
    assert_eq!(
        reader.current().version,
        2,
        "after the hub was dropped, current() must still return the last config, version 2"
    );
}
