//! Visibility: a client receives only the entities of the scopes it sees (everyone, its own
//! player scope, its groups, the cells around its view), checked on every frame it received.

use serde_json::json;
use tickroom_shared::{decode, DecodeLimits, EntityId, ServerMsg};
use tickroom_tests::{start_lab, test_config, Client, Join};

/// How a frame mentioned an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mention {
    Added,
    Changed,
    Removed,
}

/// Every mention of `id` in the Deltas and Snapshots among `frames`, decoded from the raw bytes.
fn mentions(frames: &[Vec<u8>], id: EntityId) -> Vec<(usize, Mention)> {
    let limits = DecodeLimits {
        max_bytes: usize::MAX,
        ..DecodeLimits::default()
    };
    let mut found = Vec::new();
    for (i, bytes) in frames.iter().enumerate() {
        let msg: ServerMsg = decode(bytes, &limits).expect("frames were decoded once already");
        let segments = match &msg {
            ServerMsg::Delta { segments, .. } | ServerMsg::Snapshot { segments, .. } => segments,
            _ => continue,
        };
        for s in segments {
            if s.removed.contains(&id) {
                found.push((i, Mention::Removed));
            }
            if s.changed.iter().any(|r| r.id == id) {
                found.push((i, Mention::Changed));
            }
            if s.added.iter().any(|r| r.id == id) {
                found.push((i, Mention::Added));
            }
        }
    }
    found
}

/// Every added record of kind `kind` in `frames`, as (id, field values by name).
fn added_of_kind(client: &Client, kind: &str) -> Vec<(EntityId, Vec<(String, i64)>)> {
    let kinds = &client.welcomed().kinds;
    let index = kinds
        .iter()
        .position(|k| k.name == kind)
        .expect("a declared kind") as u16;
    let mut found = Vec::new();
    for msg in &client.log {
        let segments = match msg {
            ServerMsg::Delta { segments, .. } | ServerMsg::Snapshot { segments, .. } => segments,
            _ => continue,
        };
        for record in segments.iter().flat_map(|s| &s.added) {
            if record.kind == index {
                let fields = record
                    .values
                    .iter()
                    .filter_map(|(f, v)| {
                        let name = kinds[usize::from(index)].fields[usize::from(*f)]
                            .name
                            .clone();
                        Some((name, v.as_int()?))
                    })
                    .collect();
                found.push((record.id, fields));
            }
        }
    }
    found
}

/// A spatial entity outside a client's cells is never sent to it, not even its id; it appears
/// with its whole state when it comes near (or the view comes to it), and is removed when it
/// goes away.
#[tokio::test]
async fn an_entity_outside_the_clients_cells_is_never_sent() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    // ann sees cells -1..=1 on both axes (x and y in -100..200), bob the block around (9, 9).
    a.apply(json!({"type": "view", "x": 50, "y": 50})).await;
    b.apply(json!({"type": "view", "x": 950, "y": 950})).await;
    b.apply(json!({"type": "mark", "label": 7, "x": 950, "y": 950}))
        .await;
    let marker = b
        .find_one("marker", "label", 7)
        .expect("bob sees his marker");
    b.apply(json!({"type": "move", "label": 7, "x": 960, "y": 940}))
        .await;
    a.ticks(3).await;
    assert!(a.replica.get(marker).is_none());
    assert!(
        mentions(&a.frames, marker).is_empty(),
        "far away: never mentioned"
    );

    // It comes near: added with its whole state (second move: blue, heading 1.0).
    b.apply(json!({"type": "move", "label": 7, "x": 150, "y": 50}))
        .await;
    a.until(|c| c.replica.get(marker).is_some()).await;
    let field = |c: &Client, f| c.replica.int(marker, f);
    assert_eq!(field(&a, "x"), Some(150));
    assert_eq!(field(&a, "y"), Some(50));
    assert_eq!(field(&a, "heading"), Some(2), "1.0 in steps of 0.5");
    assert_eq!(field(&a, "moved"), Some(1));
    assert_eq!(field(&a, "colour"), Some(2), "blue");
    assert_eq!(field(&a, "label"), Some(7));
    assert!(b.replica.get(marker).is_none(), "it left bob's cells");

    // It goes away: removed.
    b.apply(json!({"type": "move", "label": 7, "x": 250, "y": 50}))
        .await;
    a.until(|c| c.replica.get(marker).is_none()).await;

    // The view comes to it: added again, with its new state.
    a.apply(json!({"type": "view", "x": 350, "y": 150})).await;
    assert_eq!(field(&a, "x"), Some(250));
    assert_eq!(field(&a, "heading"), Some(3));
    // And leaves it: removed; so does a blind client lose every cell.
    a.apply(json!({"type": "blind"})).await;
    assert!(a.replica.get(marker).is_none());
    a.ticks(3).await;

    let seen: Vec<Mention> = mentions(&a.frames, marker)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        seen,
        [
            Mention::Added,
            Mention::Removed,
            Mention::Added,
            Mention::Removed
        ],
        "mentioned only while in ann's cells"
    );
    a.assert_clean();
    b.assert_clean();
}

/// A player's scope reaches that player only: in every frame each client received, every
/// `secret` added is its own, and it holds exactly one.
#[tokio::test]
async fn a_players_scope_is_seen_by_that_player_only() {
    let server = start_lab(test_config());
    let mut clients = Vec::new();
    for name in ["a", "b", "c"] {
        clients.push(Client::join(&server, Join::quick(name)).await);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        c.apply(json!({"type": "secret", "value": 100 + i})).await;
    }
    for c in &mut clients {
        c.resync_and_wait().await;
        c.ticks(2).await;
    }
    for (i, c) in clients.iter().enumerate() {
        let me = i64::from(c.player().0);
        let secrets: Vec<_> = c.replica.of_kind("secret").map(|(id, _)| id).collect();
        assert_eq!(secrets.len(), 1);
        assert_eq!(c.replica.int(secrets[0], "value"), Some(100 + i as i64));
        let added = added_of_kind(c, "secret");
        assert!(added.len() >= 2, "the join's and the resync's Snapshots");
        for (id, fields) in added {
            let owner = fields.iter().find(|(n, _)| n == "owner").map(|(_, v)| *v);
            assert_eq!(
                owner,
                Some(me),
                "secret {id} of another player reached {me}"
            );
        }
        c.assert_clean();
    }
}

/// A group's entities reach its members only: joining a group adds them with their state,
/// changes reach every member, and leaving removes them.
#[tokio::test]
async fn a_groups_entities_are_seen_by_its_members_only() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    a.apply(json!({"type": "group", "group": 1, "member": true}))
        .await;
    b.apply(json!({"type": "badge", "group": 1, "value": 5, "note": "hello"}))
        .await;
    a.until(|c| c.find_one("badge", "group", 1).is_some()).await;
    let badge = a
        .find_one("badge", "group", 1)
        .expect("ann, a member, sees the badge");
    assert_eq!(
        a.replica.field(badge, "note").and_then(|v| v.as_text()),
        Some("hello")
    );
    b.ticks(3).await;
    assert!(b.replica.get(badge).is_none());

    b.apply(json!({"type": "group", "group": 1, "member": true}))
        .await;
    assert_eq!(
        b.replica.int(badge, "value"),
        Some(5),
        "joining a group shows its state"
    );
    a.apply(json!({"type": "badge", "group": 1, "value": -7, "note": "hé"}))
        .await;
    b.until(|c| c.replica.int(badge, "value") == Some(-7)).await;
    assert_eq!(
        b.replica.field(badge, "note").and_then(|v| v.as_text()),
        Some("hé")
    );
    a.apply(json!({"type": "group", "group": 1, "member": false}))
        .await;
    assert!(
        a.replica.get(badge).is_none(),
        "leaving the group removes its entities"
    );
    b.ticks(3).await;
    assert!(b.replica.get(badge).is_some());

    let seen: Vec<Mention> = mentions(&a.frames, badge)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(seen, [Mention::Added, Mention::Changed, Mention::Removed]);
    let seen: Vec<Mention> = mentions(&b.frames, badge)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(seen, [Mention::Added, Mention::Changed]);
    a.assert_clean();
    b.assert_clean();
}
