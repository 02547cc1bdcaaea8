//! Master and replica links shared by address: several names monitoring one server cost one link (one
//! command and one pub/sub connection, one PING schedule), and stay correct when a name is removed,
//! reset, given other credentials or switched to another address.

use super::*;
use crate::io::PingReply;

/// A sentinel monitoring `names`, all at 127.0.0.1:6379, each with `replicas` known, down-after 30 s.
fn names_fx(names: &[&str], replicas: &[u16]) -> Fx {
    let mut st = PersistedState::new(ME);
    for n in names {
        let mut cfg = MasterConfig::new(*n, "127.0.0.1", 6379, 1);
        cfg.down_after_ms = 30_000;
        cfg.failover_timeout_ms = 10_000;
        let mut pm = PersistedMaster::new(cfg);
        for p in replicas {
            pm.known_replicas.push(("127.0.0.1".into(), *p));
        }
        st.masters.insert((*n).into(), pm);
    }
    Fx::with_state(st)
}

fn connects(outs: &[Output]) -> Vec<(LinkId, u16)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Connect { link, spec } => Some((*link, spec.port)),
            _ => None,
        })
        .collect()
}

fn closes(outs: &[Output]) -> Vec<LinkId> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Close { link } => Some(*link),
            _ => None,
        })
        .collect()
}

fn master_link(fx: &Fx, name: &str) -> LinkId {
    fx.s.masters.get(name).expect("master").c.link
}

fn replica_link(fx: &Fx, name: &str, replica: &str) -> LinkId {
    fx.s.masters
        .get(name)
        .and_then(|m| m.replicas.get(replica))
        .expect("replica")
        .c
        .link
}

fn refcount(fx: &Fx, link: LinkId) -> u32 {
    fx.s.links.get(&link).map_or(0, |l| l.refcount)
}

/// The `link-refcount` field of `SENTINEL MASTER name`.
fn shown_refcount(fx: &mut Fx, name: &str) -> String {
    let Reply::Map(kv) = fx.cmd(&["SENTINEL", "MASTER", name]) else {
        panic!("SENTINEL MASTER is a map");
    };
    kv.into_iter()
        .find_map(|(k, v)| match (k, v) {
            (Reply::Bulk(k), Reply::Bulk(v)) if k == b"link-refcount" => {
                Some(String::from_utf8_lossy(&v).into_owned())
            }
            _ => None,
        })
        .expect("a link-refcount field")
}

/// Answer everything as a healthy server without replicas in its INFO.
fn answer_plain(fx: &mut Fx, outs: &[Output]) {
    fx.answer(outs, |_, cmd| match cmd {
        OutCommand::Ping => Some(LinkReply::Ping(PingReply::Pong)),
        OutCommand::Info => Some(LinkReply::Info(Some(master_info(A, &[])))),
        OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
        _ => Some(LinkReply::Other),
    });
}

#[test]
fn names_on_one_address_share_one_link_and_one_connect() {
    let mut fx = names_fx(&["a", "b", "c"], &[6380]);
    let outs = fx.pump();
    let mut outs = outs;
    outs.extend(fx.tick(100));
    let dials = connects(&outs);
    assert_eq!(dials.len(), 2, "one Connect per address: {dials:?}");
    let (ma, mb) = (master_link(&fx, "a"), master_link(&fx, "b"));
    assert_eq!(ma, mb);
    assert_eq!(ma, master_link(&fx, "c"));
    let ra = replica_link(&fx, "a", "127.0.0.1:6380");
    assert_eq!(ra, replica_link(&fx, "c", "127.0.0.1:6380"));
    assert_ne!(ma, ra);
    assert_eq!((refcount(&fx, ma), refcount(&fx, ra)), (3, 3));
    assert_eq!(shown_refcount(&mut fx, "a"), "3");
    // Other credentials are another link: a name with an auth-pass does not reuse b's connection.
    assert_eq!(
        fx.cmd(&["SENTINEL", "SET", "b", "auth-pass", "s3cret"]),
        Reply::ok()
    );
    let mb = master_link(&fx, "b");
    assert_ne!(mb, ma);
    assert_eq!((refcount(&fx, ma), refcount(&fx, mb)), (2, 1));
    let outs = fx.tick(1100);
    let dials = connects(&outs);
    assert!(
        dials.contains(&(mb, 6379)),
        "b dials its own link with its password: {dials:?}"
    );
    // The same password for c: it joins b's link rather than opening a third.
    fx.cmd(&["SENTINEL", "SET", "c", "auth-pass", "s3cret"]);
    assert_eq!(master_link(&fx, "c"), mb);
    assert_eq!((refcount(&fx, ma), refcount(&fx, mb)), (1, 2));
    // A fresh name at the address joins the link that is up: no new Connect.
    assert_eq!(
        fx.cmd(&["SENTINEL", "MONITOR", "d", "127.0.0.1", "6379", "1"]),
        Reply::ok()
    );
    assert_eq!(master_link(&fx, "d"), ma);
    let outs = fx.tick(100);
    assert!(connects(&outs).iter().all(|(l, _)| *l != ma));
}

#[test]
fn removing_one_name_keeps_the_link_and_the_last_closes_it() {
    let mut fx = names_fx(&["a", "b"], &[6380]);
    fx.pump();
    let (m, r) = (
        master_link(&fx, "a"),
        replica_link(&fx, "a", "127.0.0.1:6380"),
    );
    assert_eq!(fx.cmd(&["SENTINEL", "REMOVE", "a"]), Reply::ok());
    assert!(closes(&fx.log).is_empty(), "b still uses both links");
    assert_eq!((refcount(&fx, m), refcount(&fx, r)), (1, 1));
    assert_eq!(shown_refcount(&mut fx, "b"), "1");
    // A reset re-creates b's master link (it is alone on it now), as Redis does.
    fx.cmd(&["SENTINEL", "RESET", "b"]);
    let c = closes(&fx.log);
    assert!(c.contains(&m) && c.contains(&r), "{c:?}");
    let m2 = master_link(&fx, "b");
    assert_ne!(m2, m);
    fx.cmd(&["SENTINEL", "REMOVE", "b"]);
    assert!(closes(&fx.log).contains(&m2));
    assert!(fx.s.links.is_empty() && fx.s.shared_links.is_empty());
}

#[test]
fn a_switch_moves_one_name_and_the_links_follow_the_addresses() {
    let mut fx = names_fx(&["a", "b"], &[6380]);
    let outs = fx.tick(100);
    answer_plain(&mut fx, &outs);
    let (x, y) = (
        master_link(&fx, "a"),
        replica_link(&fx, "a", "127.0.0.1:6380"),
    );
    // A peer's hello: a is now at 6380 (epoch 1), b stays at 6379.
    let hello = format!("127.0.0.1,26399,{A},1,a,127.0.0.1,6380,1");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    assert_eq!(fx.s.master_addr("a"), Some(("127.0.0.1".into(), 6380)));
    assert_eq!(fx.s.master_addr("b"), Some(("127.0.0.1".into(), 6379)));
    // a's master talks on the 6380 link (shared with b's replica there), its old master (now a
    // replica) on the 6379 link (shared with b's master): nothing dialled, nothing closed.
    assert_eq!(master_link(&fx, "a"), y);
    assert_eq!(replica_link(&fx, "a", "127.0.0.1:6379"), x);
    assert_eq!((refcount(&fx, x), refcount(&fx, y)), (2, 2));
    assert!(closes(&fx.log).is_empty());
    // Then a moves to an address nobody uses: a link of its own, dialled; 6380 keeps b's replica.
    let hello = format!("127.0.0.1,26399,{A},2,a,127.0.0.1,6390,2");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    let z = master_link(&fx, "a");
    assert!(z != x && z != y);
    assert_eq!(refcount(&fx, z), 1);
    assert_eq!(replica_link(&fx, "a", "127.0.0.1:6380"), y);
    assert_eq!(replica_link(&fx, "b", "127.0.0.1:6380"), y);
    let outs = fx.tick(100);
    assert!(
        connects(&outs).contains(&(z, 6390)),
        "{:?}",
        connects(&outs)
    );
    // Removing b leaves each link to a alone.
    fx.cmd(&["SENTINEL", "REMOVE", "b"]);
    assert_eq!((refcount(&fx, x), refcount(&fx, y)), (1, 1));
    let c = closes(&fx.log);
    assert!(!c.contains(&x) && !c.contains(&y), "{c:?}");
}

#[test]
fn a_shared_link_is_pinged_once_and_every_name_gets_its_info_and_hellos() {
    let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut fx = names_fx(&refs, &[]);
    for _ in 0..5 {
        let outs = fx.tick(100);
        answer_plain(&mut fx, &outs);
    }
    let link = master_link(&fx, "n0");
    assert_eq!(fx.s.links.len(), 1);
    let end = fx.now + 20_000;
    let mut sent = Vec::new();
    while let Some(t) = fx.s.poll_timeout().filter(|t| t.0 <= end) {
        fx.now = t.0;
        fx.s.handle_timeout(Instant(fx.now), fx.now);
        let outs = fx.pump();
        for o in &outs {
            if let Output::Send { link, cmd, .. } = o {
                sent.push((*link, cmd.clone()));
            }
        }
        answer_plain(&mut fx, &outs);
    }
    assert!(sent.iter().all(|(l, _)| *l == link));
    let pings = sent
        .iter()
        .filter(|(_, c)| matches!(c, OutCommand::Ping))
        .count();
    // One schedule for the server (one PING a second at down-after 30 s), not one per name.
    assert!(
        (19..=21).contains(&pings),
        "{pings} PINGs in 20 s for 10 names"
    );
    for n in &names {
        let hellos = sent
            .iter()
            .filter(|(_, c)| matches!(c, OutCommand::PublishHello(h) if h.master_name == *n))
            .count();
        assert!((9..=10).contains(&hellos), "{n}: {hellos} hellos in 20 s");
        let m = fx.s.masters.get(n).expect("master");
        let age = m.info.refresh.map(|t| fx.now - t.0);
        assert!(
            age.is_some_and(|a| a <= 10_100),
            "{n}: INFO refreshed {age:?} ms ago"
        );
        assert!(m.c.runid.is_some(), "{n} learnt the run id");
    }
    let infos = sent
        .iter()
        .filter(|(_, c)| matches!(c, OutCommand::Info))
        .count();
    assert!(
        (20..=30).contains(&infos),
        "{infos} INFOs in 20 s for 10 names"
    );
}

#[test]
fn a_dead_shared_server_puts_every_name_down() {
    let mut fx = names_fx(&["a", "b", "c"], &[]);
    for _ in 0..5 {
        let outs = fx.tick(100);
        answer_plain(&mut fx, &outs);
    }
    for n in ["a", "b", "c"] {
        fx.cmd(&["SENTINEL", "SET", n, "down-after-milliseconds", "1000"]);
    }
    let link = master_link(&fx, "a");
    let conn = fx.s.links.get(&link).and_then(|l| l.conn).expect("up");
    fx.s.handle_input(Instant(fx.now), Input::LinkDown { link, conn });
    // Redials fail (connection refused): every name goes down within down-after.
    let start = fx.now;
    while fx.events("+sdown").len() < 3 && fx.now < start + 3000 {
        fx.now += 10;
        fx.s.handle_timeout(Instant(fx.now), fx.now);
        while let Some(o) = fx.s.poll_output() {
            if let Output::Connect { link, .. } = &o {
                let down = Input::LinkDown {
                    link: *link,
                    conn: 0,
                };
                fx.s.handle_input(Instant(fx.now), down);
            }
            fx.log.push(o);
        }
    }
    let downs = fx.events("+sdown");
    assert_eq!(downs.len(), 3, "{downs:?}");
    assert!(fx.now - start <= 1100, "down after {} ms", fx.now - start);
}

#[test]
fn one_name_switching_away_leaves_the_others_view_of_the_dead_server() {
    let mut fx = names_fx(&["a", "b"], &[6380]);
    for _ in 0..5 {
        let outs = fx.tick(100);
        answer_plain(&mut fx, &outs);
    }
    for n in ["a", "b"] {
        fx.cmd(&["SENTINEL", "SET", n, "down-after-milliseconds", "1000"]);
    }
    let x = master_link(&fx, "a");
    // The master stops answering; the replica keeps answering.
    for _ in 0..150 {
        let outs = fx.tick(10);
        fx.answer(&outs, |link, cmd| match cmd {
            _ if link == x => None,
            OutCommand::Ping => Some(LinkReply::Ping(PingReply::Pong)),
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(1, 100)))),
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
    }
    let sdown = |fx: &Fx, n: &str| fx.s.masters.get(n).is_some_and(|m| m.c.s_down);
    assert!(sdown(&fx, "a") && sdown(&fx, "b"));
    // A peer switched a; b is still failing over from the dead server.
    let hello = format!("127.0.0.1,26399,{A},1,a,127.0.0.1,6380,1");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    let outs = fx.tick(10);
    fx.answer(&outs, |link, _| (link != x).then_some(LinkReply::Other));
    assert!(
        sdown(&fx, "b"),
        "b's master is still down: {:?}",
        fx.events("-sdown")
    );
    assert!(fx.events("-sdown").iter().all(|e| !e.contains("master b ")));
}
