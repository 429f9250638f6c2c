//! The kiosk as a DICOM node (issue 14), against real peers from Debian's dcmtk
//! (`scripts/setup --test` installs it): `storescu` and `echoscu` sending to the
//! kiosk's receiver, `storescp` answering the kiosk's echo, `wlmscpfs` serving a
//! worklist made with `dump2dcm`; and the bad-input cases on raw sockets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use cmr_kiosk::dicom::node::{
    self, Counters, NodeEvent, Peer, Receiver, ReceiverSettings, WorklistQuery,
};
use cmr_kiosk::dicom::synth::{
    SynthStudy, VendorStyle, standard_series, write_enhanced, write_standard_exam,
};
use cmr_kiosk::dicom::{Rules, scan_dir};
use cmr_kiosk::domain::protocol::{ExamType, ProtocolStep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::support::mwl::{self, Scheduled, free_port, tool, wait_listening};

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The kiosk's receiver on a loopback port, with its events and counters.
struct Running {
    addr: SocketAddr,
    counters: Arc<Counters>,
    events: mpsc::Receiver<NodeEvent>,
    store: PathBuf,
    _task: tokio::task::JoinHandle<()>,
}

async fn receiver(store: &Path, callers: &[&str], idle: Duration) -> Running {
    receiver_at_most(store, callers, idle, node::receiver::MAX_INSTANCE_BYTES).await
}

/// [`receiver`] accepting instances of at most `max_instance` bytes.
async fn receiver_at_most(
    store: &Path,
    callers: &[&str],
    idle: Duration,
    max_instance: u64,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counters = Arc::new(Counters::default());
    let (tx, events) = mpsc::channel(node::receiver::EVENT_QUEUE);
    let r = Receiver::new(
        ReceiverSettings {
            ae_title: "CMR_KIOSK".into(),
            callers: callers.iter().map(|c| c.to_string()).collect(),
            store: store.to_path_buf(),
            keep_bytes: 1 << 40,
            idle,
            discard_after: None,
        },
        counters.clone(),
        tx,
    )
    .unwrap()
    .with_max_instance_bytes(max_instance);
    Running {
        addr,
        counters,
        events,
        store: store.to_path_buf(),
        _task: tokio::spawn(r.serve(listener)),
    }
}

impl Running {
    /// Every event so far.
    fn drain(&mut self) -> Vec<NodeEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    fn count(&self, i: usize) -> u64 {
        self.counters.snapshot()[i]
    }

    /// The reasons of the rejections reported so far (other events dropped).
    fn rejections(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .filter_map(|e| match e {
                NodeEvent::Rejected { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    }

    /// Counter `i` once it reaches `n` (the receiver counts right after it
    /// answered, so a peer may have exited a moment earlier), or as it is after 5 s.
    async fn count_reaches(&self, i: usize, n: u64) -> u64 {
        for _ in 0..100 {
            if self.count(i) >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.count(i)
    }
}

const ASSOCIATIONS: usize = 0;
const REJECTED: usize = 1;
const ABORTED: usize = 2;
const STORED: usize = 3;
const REFUSED: usize = 4;
const ECHOES: usize = 5;

/// Runs a blocking command off the runtime; its exit status and output.
async fn run(mut c: Command) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = c.output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .unwrap()
}

fn storescu(addr: SocketAddr, dir: &Path, implicit: bool) -> Command {
    let mut c = tool("storescu");
    c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", "+r", "-nh"]);
    if implicit {
        c.arg("-xi");
    }
    c.arg("127.0.0.1").arg(addr.port().to_string()).arg(dir);
    c
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn transfer_syntax(file: &Path) -> String {
    dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .open_file(file)
        .unwrap()
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string()
}

/// A whole synthetic exam (several hundred classic files, one enhanced multi-frame
/// series) sent by storescu, half in Implicit VR and half in Explicit VR: every file
/// is stored and acknowledged, and the received folder reads as the source folder
/// does (same series, classification and findings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_storescu_sends_a_whole_exam_and_every_series_arrives() {
    let src = tempfile::tempdir().unwrap();
    let root = "1.2.826.0.1.3680043.9.7140";
    let study = SynthStudy::new(VendorStyle::Siemens, root);
    let implicit_dir = src.path().join("implicit");
    let explicit_dir = src.path().join("explicit");
    std::fs::create_dir_all(&implicit_dir).unwrap();
    std::fs::create_dir_all(&explicit_dir).unwrap();
    let mut files = write_standard_exam(&implicit_dir, &study, false).unwrap();
    // Every step acquired a second time (repeats are common), as series 101….
    for (k, step) in ProtocolStep::ALL.into_iter().enumerate() {
        let mut again = standard_series(VendorStyle::Siemens, step, &format!("{root}.2"));
        again.number = 101 + k as i32;
        again.uid = format!("{root}.2.{}", again.number);
        files.extend(
            cmr_kiosk::dicom::synth::write_series(&implicit_dir, &study, &again, false).unwrap(),
        );
    }
    // Move half the files (every series whose number is even) to the explicit side.
    let mut moved = 0;
    for f in &files {
        let h = cmr_kiosk::dicom::read_header(f).unwrap();
        if h.series.number.unwrap_or(0) % 2 == 0 {
            std::fs::rename(f, explicit_dir.join(f.file_name().unwrap())).unwrap();
            moved += 1;
        }
    }
    let mut enhanced = standard_series(VendorStyle::Siemens, ProtocolStep::Cine4ch, root);
    enhanced.number = 901;
    enhanced.uid = format!("{root}.901");
    write_enhanced(&explicit_dir, &study, &enhanced, true).unwrap();
    let sent = files.len() + 1;
    assert!(
        sent >= 300,
        "a whole exam is several hundred files ({sent})"
    );
    assert!(moved > 0 && moved < files.len());

    let store = tempfile::tempdir().unwrap();
    let mut rx = receiver(store.path(), &["SCANNER"], Duration::from_secs(30)).await;
    let (ok_i, out_i) = run(storescu(rx.addr, &implicit_dir, true)).await;
    assert!(ok_i, "storescu (implicit): {out_i}");
    let (ok_e, out_e) = run(storescu(rx.addr, &explicit_dir, false)).await;
    assert!(ok_e, "storescu (explicit): {out_e}");
    // One more series, deflated on the wire: stored inflated (Explicit VR LE).
    let deflated_dir = src.path().join("deflated");
    std::fs::create_dir_all(&deflated_dir).unwrap();
    let mut lge = standard_series(VendorStyle::Siemens, ProtocolStep::Lge, root);
    lge.number = 902;
    lge.uid = format!("{root}.902");
    let deflated =
        cmr_kiosk::dicom::synth::write_series(&deflated_dir, &study, &lge, true).unwrap();
    let mut c = tool("storescu");
    c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", "+r", "-xd"])
        .arg("127.0.0.1")
        .arg(rx.addr.port().to_string())
        .arg(&deflated_dir);
    let (ok_d, out_d) = run(c).await;
    assert!(ok_d, "storescu (deflated): {out_d}");
    let sent = sent + deflated.len();
    // One more series compressed by dcmtk (JPEG Lossless SV1) and one in JPEG-LS:
    // stored as sent, pixel data never decoded.
    let mut compressed = 0;
    for (n, encoder, propose, step) in [
        (903, "dcmcjpeg", "-xs", ProtocolStep::StressPerfusion),
        (904, "dcmcjpls", "-xt", ProtocolStep::RestPerfusion),
    ] {
        let raw_dir = src.path().join(format!("raw{n}"));
        let out_dir = src.path().join(format!("compressed{n}"));
        std::fs::create_dir_all(&raw_dir).unwrap();
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut series = standard_series(VendorStyle::Siemens, step, root);
        series.number = n;
        series.uid = format!("{root}.{n}");
        for f in cmr_kiosk::dicom::synth::write_series(&raw_dir, &study, &series, true).unwrap() {
            let mut c = tool(encoder);
            c.arg(&f).arg(out_dir.join(f.file_name().unwrap()));
            let (ok, out) = run(c).await;
            assert!(ok, "{encoder}: {out}");
            compressed += 1;
        }
        // The source scan reads the compressed files, not the raw ones.
        std::fs::remove_dir_all(&raw_dir).unwrap();
        let mut c = tool("storescu");
        c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", propose])
            .arg("127.0.0.1")
            .arg(rx.addr.port().to_string())
            .arg(&out_dir);
        let (ok, out) = run(c).await;
        assert!(ok, "storescu ({encoder}): {out}");
    }
    let sent = sent + compressed;
    // A JPEG 2000 series (dcmtk has no JPEG 2000 encoder: the pixel data here is a
    // made-up codestream, which the kiosk never decodes): stored as sent.
    let j2k_dir = src.path().join("j2k");
    std::fs::create_dir_all(&j2k_dir).unwrap();
    let mut cine = standard_series(VendorStyle::Siemens, ProtocolStep::CineSax, root);
    cine.number = 905;
    cine.uid = format!("{root}.905");
    let j2k = cmr_kiosk::dicom::synth::write_series(&j2k_dir, &study, &cine, false).unwrap();
    for f in &j2k {
        let mut obj = dicom_object::open_file(f).unwrap();
        obj.put(dicom_core::DataElement::new(
            dicom_dictionary_std::tags::PIXEL_DATA,
            dicom_core::VR::OB,
            dicom_core::value::Value::from(dicom_core::value::PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![vec![0xFF, 0x4F, 0xFF, 0x51, 0, 0, 0, 0]],
            )),
        ));
        obj.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.4.90".into());
        obj.write_to_file(f).unwrap();
    }
    let mut c = tool("storescu");
    c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", "-xv"])
        .arg("127.0.0.1")
        .arg(rx.addr.port().to_string())
        .arg(&j2k_dir);
    let (ok, out) = run(c).await;
    assert!(ok, "storescu (JPEG 2000): {out}");
    let sent = sent + j2k.len();

    assert_eq!(
        rx.count(STORED) as usize,
        sent,
        "every instance acknowledged"
    );
    assert_eq!(rx.count(REFUSED), 0);
    assert_eq!(rx.count(ABORTED), 0);
    assert_eq!(rx.count(ASSOCIATIONS), 6);
    let events = rx.drain();
    let stored: Vec<&PathBuf> = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Stored { file, .. } => Some(file),
            _ => None,
        })
        .collect();
    let syntaxes: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Stored {
                transfer_syntax, ..
            } => Some(transfer_syntax.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        syntaxes,
        [
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.4.70",
            "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.90",
        ]
        .into(),
        "implicit, explicit, deflated, JPEG lossless, JPEG-LS and JPEG 2000 on the wire"
    );
    assert_eq!(stored.len(), sent);
    // Each acknowledged file is on disk under its study, in the TS it was sent in.
    let study_dir = rx.store.join(&study.study_uid);
    assert!(
        stored
            .iter()
            .all(|f| f.starts_with(&study_dir) && f.is_file())
    );
    let received = files_under(&study_dir);
    assert_eq!(received.len(), sent);
    let implicit_one = received
        .iter()
        .find(|f| {
            let h = cmr_kiosk::dicom::read_header(f).unwrap();
            h.series.number.unwrap_or(0) % 2 == 1 && !h.enhanced
        })
        .unwrap();
    assert_eq!(transfer_syntax(implicit_one), "1.2.840.10008.1.2");
    let enhanced_file = study_dir.join(format!("{root}.901.1.dcm"));
    let enhanced_file = if enhanced_file.is_file() {
        enhanced_file
    } else {
        received
            .iter()
            .find(|f| cmr_kiosk::dicom::read_header(f).unwrap().enhanced)
            .cloned()
            .expect("the enhanced series arrived")
    };
    assert_eq!(transfer_syntax(&enhanced_file), "1.2.840.10008.1.2.1");
    // Nothing is left in the spool.
    assert!(files_under(&rx.store.join(node::receiver::SPOOL_DIR)).is_empty());

    // The received folder reads as the source does.
    let rules = Rules::builtin();
    let from_source = scan_dir(src.path(), &rules).unwrap();
    let from_network = scan_dir(store.path(), &rules).unwrap();
    let key = |r: &cmr_kiosk::dicom::ScanReport| {
        let mut v: Vec<String> = r
            .series
            .iter()
            .map(|s| {
                format!(
                    "{} {} files={} {:?} findings={}",
                    s.summary.series_uid,
                    s.summary.description.clone().unwrap_or_default(),
                    s.summary.files,
                    s.classification,
                    s.findings.len()
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&from_network), key(&from_source));
    assert!(
        from_network.skipped.is_empty(),
        "{:?}",
        from_network.skipped
    );
}

/// echoscu verifies the receiver; a wrong called AE title and a caller not on the
/// list are rejected (A-ASSOCIATE-RJ), counted and reported, and the receiver goes
/// on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_echoscu_is_answered_and_strangers_are_rejected() {
    let store = tempfile::tempdir().unwrap();
    let mut rx = receiver(store.path(), &["SCANNER"], Duration::from_secs(30)).await;
    let echo = |called: &str, calling: &str| {
        let mut c = tool("echoscu");
        c.args(["-aet", calling, "-aec", called])
            .arg("127.0.0.1")
            .arg(rx.addr.port().to_string());
        c
    };
    let (ok, out) = run(echo("CMR_KIOSK", "SCANNER")).await;
    assert!(ok, "echoscu: {out}");
    assert_eq!(rx.count_reaches(ECHOES, 1).await, 1);
    let (ok, out) = run(echo("SOMEONE_ELSE", "SCANNER")).await;
    assert!(!ok, "a wrong called AE title is rejected: {out}");
    assert!(out.contains("Called AE Title Not Recognized"), "{out}");
    let (ok, out) = run(echo("CMR_KIOSK", "INTRUDER")).await;
    assert!(!ok, "a caller not on the list is rejected: {out}");
    assert!(out.contains("Calling AE Title Not Recognized"), "{out}");
    assert_eq!(rx.count_reaches(REJECTED, 2).await, 2);
    let (ok, out) = run(echo("CMR_KIOSK", "SCANNER")).await;
    assert!(ok, "still answering: {out}");
    assert_eq!(rx.count_reaches(ECHOES, 2).await, 2);
    let rejected: Vec<String> = rx.rejections();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
}

/// `cmr-kiosk dicom echo` (the client) against dcmtk's storescp; a port where
/// nobody listens is an error naming the association, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_the_kiosk_echoes_storescp() {
    let port = free_port();
    let out_dir = tempfile::tempdir().unwrap();
    let mut c = tool("storescp");
    c.args(["-aet", "PACS", "-od"])
        .arg(out_dir.path())
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _scp = Killed(c.spawn().unwrap());
    wait_listening(port);
    let peer: Peer = format!("PACS@127.0.0.1:{port}").parse().unwrap();
    let rtt = node::client::echo("CMR_KIOSK", &peer).await.unwrap();
    assert!(rtt < Duration::from_secs(5));
    let nobody: Peer = format!("PACS@127.0.0.1:{}", free_port()).parse().unwrap();
    let e = node::client::echo("CMR_KIOSK", &nobody).await.unwrap_err();
    assert!(matches!(e, node::NodeError::Association(_)), "{e}");
}

/// The worklist from dcmtk's wlmscpfs: 200 items for the day (Chinese names in
/// GB18030 and in UTF-8), others on another day not returned; names decoded, the
/// requested procedure mapped to an exam type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_the_worklist_comes_from_wlmscpfs_with_chinese_names() {
    let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let names = ["王^小明", "张^伟", "李^娜", "欧阳^娜娜"];
    let mut expected = Vec::new();
    let mut scheduled = Vec::new();
    for i in 0..210 {
        let name = names[i % names.len()];
        if i < 200 {
            expected.push((format!("P{i:06}"), name.replace('^', "")));
        }
        scheduled.push(Scheduled {
            charset: if i % 2 == 0 { "GB18030" } else { "ISO_IR 192" },
            name,
            id: format!("P{i:06}"),
            sex: if i % 2 == 0 { "F" } else { "M" },
            accession: format!("ACC{i:05}"),
            procedure: if i % 3 == 0 {
                "心脏磁共振腺苷负荷灌注"
            } else {
                "Cardiac MR with contrast"
            },
            date: if i < 200 { "20261207" } else { "20261208" }.into(),
            time: format!("{:02}{:02}00", 7 + i % 12, i % 60),
            study_uid: format!("1.2.826.0.1.3680043.9.7141.{i}"),
        });
    }
    let wlm = mwl::serve(&scheduled);
    let port = wlm.port;
    let peer: Peer = format!("RIS_MWL@127.0.0.1:{port}").parse().unwrap();
    let items = node::client::worklist(
        "CMR_KIOSK",
        &peer,
        &WorklistQuery {
            date: day,
            station_ae: "MR_SCANNER".into(),
            modality: "MR".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 200, "the day's items only");
    let mut got: Vec<(String, String)> = items
        .iter()
        .map(|i| (i.patient_id.clone(), i.display_name()))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "every name decoded from its character set");
    let first = items.iter().find(|i| i.patient_id == "P000000").unwrap();
    assert_eq!(first.accession, "ACC00000");
    assert_eq!(first.sex.as_deref(), Some("F"));
    assert_eq!(first.birth_date, NaiveDate::from_ymd_opt(1980, 6, 15));
    assert_eq!(first.weight_kg, Some(68.5));
    assert_eq!(first.height_m, Some(1.72));
    assert_eq!(first.study_uid, "1.2.826.0.1.3680043.9.7141.0");
    assert_eq!(first.requested_procedure, "心脏磁共振腺苷负荷灌注");
    assert_eq!(first.station_ae, "MR_SCANNER");
    assert_eq!(first.scheduled.map(|s| s.date()), Some(day));
    let rules = node::worklist::builtin_procedure_rules();
    assert_eq!(
        node::worklist::suggested_exam(first, &rules),
        Some(ExamType::AdenosineStress)
    );
    let second = items.iter().find(|i| i.patient_id == "P000001").unwrap();
    assert_eq!(
        node::worklist::suggested_exam(second, &rules),
        Some(ExamType::Contrast)
    );
    // Scheduled order.
    assert!(items.windows(2).all(|w| w[0].scheduled <= w[1].scheduled));
    // Another station's list is empty.
    let none = node::client::worklist(
        "CMR_KIOSK",
        &peer,
        &WorklistQuery {
            date: day,
            station_ae: "CT_SCANNER".into(),
            modality: "MR".into(),
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());
}

/// A valid A-ASSOCIATE-RQ for `called` from `calling` proposing `abstract_syntax`
/// in Implicit VR Little Endian, as bytes on the wire.
fn associate_rq(calling: &str, called: &str, abstract_syntax: &str) -> Vec<u8> {
    use dicom_ul::pdu::{AssociationRQ, PresentationContextProposed, UserVariableItem};
    let rq = dicom_ul::pdu::Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.into(),
        called_ae_title: called.into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![PresentationContextProposed {
            id: 1,
            abstract_syntax: abstract_syntax.into(),
            transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, &rq).unwrap();
    out
}

/// Sends an A-ASSOCIATE-RQ (see [`associate_rq`]) on a new connection to `addr`
/// and returns everything the receiver answers.
async fn associate(
    addr: SocketAddr,
    calling: &str,
    called: &str,
    abstract_syntax: &str,
) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&associate_rq(calling, called, abstract_syntax))
        .await
        .unwrap();
    answer(&mut s).await
}

/// Reads whatever the receiver answers until it closes (or 5 s).
async fn answer(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

/// Every bad-input case: each is answered per the standard (reject or abort),
/// counted and reported, and the receiver keeps serving; an instance acknowledged
/// before an abort stays, the one cut off is not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_bad_peers_are_refused_counted_and_the_receiver_goes_on() {
    let store = tempfile::tempdir().unwrap();
    let mut rx = receiver(store.path(), &[], Duration::from_millis(1500)).await;
    let connect = || tokio::net::TcpStream::connect(rx.addr);

    // Garbage instead of an association request.
    let mut s = connect().await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: kiosk\r\n\r\n")
        .await
        .unwrap();
    let _ = answer(&mut s).await;

    // A PDU claiming nearly 4 GiB: refused before its body is read.
    let mut s = connect().await.unwrap();
    s.write_all(&[0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xF0, 0x00, 0x01])
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let _ = answer(&mut s).await;
    assert!(t.elapsed() < Duration::from_secs(4), "not waited for");

    // A truncated association request, then the connection closed.
    let mut s = connect().await.unwrap();
    let rq = associate_rq("SCANNER", "CMR_KIOSK", node::dimse::VERIFICATION);
    s.write_all(&rq[..rq.len() / 2]).await.unwrap();
    drop(s);

    // A peer that connects and never sends; and one that associates, then falls
    // silent.
    let mut silent = connect().await.unwrap();
    let quiet = dicom_ul::association::client::ClientAssociationOptions::new()
        .calling_ae_title("SCANNER")
        .called_ae_title("CMR_KIOSK")
        .with_abstract_syntax(node::dimse::VERIFICATION)
        .establish_async(rx.addr)
        .await
        .unwrap();

    // A wrong called AE title: A-ASSOCIATE-RJ (PDU type 3).
    let a = associate(
        rx.addr,
        "SCANNER",
        "NOT_THE_KIOSK",
        node::dimse::VERIFICATION,
    )
    .await;
    assert_eq!(a.first(), Some(&0x03), "A-ASSOCIATE-RJ: {a:?}");

    // An unknown SOP class only (CT): the A-ASSOCIATE-AC refuses its context with
    // "abstract syntax not supported" (PS3.8 9.3.3.2, result 3), then the kiosk
    // aborts the association, which has nothing left to carry (A-ABORT, type 7).
    let a = associate(rx.addr, "SCANNER", "CMR_KIOSK", "1.2.840.10008.5.1.4.1.1.2").await;
    assert_eq!(a.first(), Some(&0x02), "A-ASSOCIATE-AC: {a:?}");
    let ac_len = 6 + u32::from_be_bytes(a[2..6].try_into().unwrap()) as usize;
    // The items after the fixed fields (6 + 68 bytes): the context result item (0x21).
    let items = &a[74..ac_len];
    let mut i = 0;
    let mut result = None;
    while i + 4 <= items.len() {
        let len = u16::from_be_bytes([items[i + 2], items[i + 3]]) as usize;
        if items[i] == 0x21 {
            result = Some(items[i + 6]);
        }
        i += 4 + len;
    }
    assert_eq!(result, Some(3), "abstract syntax not supported: {a:?}");
    assert_eq!(a.get(ac_len), Some(&0x07), "then A-ABORT: {a:?}");

    // The silent peers are dropped after the idle time (the associated one with an
    // A-ABORT).
    let a = answer(&mut silent).await;
    assert!(a.is_empty() || a[0] == 0x07, "closed or A-ABORT: {a:?}");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    drop(quiet);

    // An association aborted in the middle of an instance: the instances
    // acknowledged before stay, the cut one is not kept.
    let src = tempfile::tempdir().unwrap();
    let root = "1.2.826.0.1.3680043.9.7142";
    let study = SynthStudy::new(VendorStyle::Ge, root);
    let mut s3 = standard_series(VendorStyle::Ge, ProtocolStep::CineSax, root);
    s3.number = 3;
    let files = cmr_kiosk::dicom::synth::write_series(src.path(), &study, &s3, true).unwrap();
    let kept = send_then_abort(rx.addr, &files[..3], &files[3]).await;
    assert_eq!(kept, 3, "three acknowledged before the abort");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = files_under(&store.path().join(&study.study_uid));
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(files_under(&store.path().join(node::receiver::SPOOL_DIR)).is_empty());

    // A C-STORE of a CT image on an MR context: refused with 0x0122, not stored.
    let status = store_wrong_class(rx.addr).await;
    assert_eq!(status, node::dimse::status::SOP_CLASS_NOT_SUPPORTED);

    // Still serving.
    let peer: Peer = format!("CMR_KIOSK@127.0.0.1:{}", rx.addr.port())
        .parse()
        .unwrap();
    node::client::echo("SCANNER", &peer).await.unwrap();

    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = rx.drain();
    let reasons: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Rejected { reason, .. } | NodeEvent::Aborted { reason, .. } => {
                Some(reason.clone())
            }
            NodeEvent::Refused { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    eprintln!("{reasons:#?}");
    assert!(
        rx.count(REJECTED) >= 6,
        "garbage, huge, truncated, silent, wrong AE, no context: {reasons:?}"
    );
    assert!(
        rx.count(ABORTED) >= 2,
        "the silent peer and the cut transfer: {reasons:?}"
    );
    assert_eq!(rx.count(REFUSED), 1, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("no PDU for")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("abstract syntax not supported: 1.2.840.10008.5.1.4.1.1.2")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("aborted by the peer")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("SOP class")),
        "{reasons:?}"
    );
    assert_eq!(rx.count(ECHOES), 1);
}

/// Sends `ok` by C-STORE on one association, then half of `cut`, then aborts;
/// returns how many were acknowledged with success.
async fn send_then_abort(addr: SocketAddr, ok: &[PathBuf], cut: &Path) -> usize {
    use dicom_ul::association::client::ClientAssociationOptions;
    use dicom_ul::pdu::{PDataValueType, Pdu};
    let mut assoc = ClientAssociationOptions::new()
        .calling_ae_title("SCANNER")
        .called_ae_title("CMR_KIOSK")
        .with_presentation_context(node::dimse::MR_IMAGE_STORAGE, vec!["1.2.840.10008.1.2.1"])
        .establish_async(addr)
        .await
        .unwrap();
    let pc = assoc.presentation_contexts()[0].id;
    let body = |f: &Path| {
        let obj = dicom_object::open_file(f).unwrap();
        let mut out = Vec::new();
        obj.write_dataset_with_ts(
            &mut out,
            &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .unwrap();
        let sop = obj
            .meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0')
            .to_string();
        (out, sop)
    };
    let mut acknowledged = 0;
    for (i, f) in ok.iter().enumerate() {
        let (data, sop) = body(f);
        let cmd = node::dimse::request(
            node::dimse::field::C_STORE_RQ,
            i as u16 + 1,
            node::dimse::MR_IMAGE_STORAGE,
            true,
            Some(&sop),
        );
        for (kind, bytes) in [(PDataValueType::Command, cmd), (PDataValueType::Data, data)] {
            for (n, chunk) in bytes.chunks(8000).enumerate() {
                let last = (n + 1) * 8000 >= bytes.len();
                assoc
                    .send(&one_pdv(pc, kind.clone(), last, chunk.to_vec()))
                    .await
                    .unwrap();
            }
        }
        if let Pdu::PData { data } = assoc.receive().await.unwrap() {
            let rsp = node::dimse::decode(&data[0].data).unwrap();
            if rsp.status == Some(0) {
                acknowledged += 1;
            }
        }
    }
    let (data, sop) = body(cut);
    let cmd = node::dimse::request(
        node::dimse::field::C_STORE_RQ,
        99,
        node::dimse::MR_IMAGE_STORAGE,
        true,
        Some(&sop),
    );
    for (kind, bytes, last) in [
        (PDataValueType::Command, cmd, true),
        (PDataValueType::Data, data[..data.len() / 2].to_vec(), false),
    ] {
        assoc.send(&one_pdv(pc, kind, last, bytes)).await.unwrap();
    }
    assoc.abort().await.unwrap();
    acknowledged
}

/// A C-STORE naming CT Image Storage on an association that proposed it next to MR;
/// the CT context is refused at negotiation, so the request goes on the MR context.
async fn store_wrong_class(addr: SocketAddr) -> u16 {
    use dicom_ul::association::client::ClientAssociationOptions;
    use dicom_ul::pdu::{PDataValueType, Pdu};
    let mut assoc = ClientAssociationOptions::new()
        .calling_ae_title("SCANNER")
        .called_ae_title("CMR_KIOSK")
        .with_presentation_context(node::dimse::MR_IMAGE_STORAGE, vec!["1.2.840.10008.1.2"])
        .establish_async(addr)
        .await
        .unwrap();
    let pc = assoc.presentation_contexts()[0].id;
    let cmd = node::dimse::request(
        node::dimse::field::C_STORE_RQ,
        1,
        "1.2.840.10008.5.1.4.1.1.2",
        true,
        Some("1.2.3.4.5"),
    );
    for (kind, bytes) in [
        (PDataValueType::Command, cmd),
        (
            PDataValueType::Data,
            vec![0x08, 0x00, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00],
        ),
    ] {
        assoc.send(&one_pdv(pc, kind, true, bytes)).await.unwrap();
    }
    let Pdu::PData { data } = assoc.receive().await.unwrap() else {
        panic!("no answer")
    };
    let _ = assoc.release().await;
    node::dimse::decode(&data[0].data).unwrap().status.unwrap()
}

/// The receiver as the kiosk runs it (its own thread, `dicom.node` settings):
/// every association, stored instance and rejection is an audit row in the kiosk's
/// log, and the files land where the exam's folder watch reads them.
#[test]
fn issue_14_the_kiosks_receiver_logs_each_association_and_file() {
    use cmr_kiosk::dicom::node::service::{AUDIT_ACTOR, NodeService, log_to};
    use cmr_kiosk::dicom::watch::{FolderWatch, WatchEvent};
    use cmr_kiosk::store::Store;
    use cmr_kiosk::store::accounts::{AuditAction, AuditEvent, AuditOutcome};

    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::recorder::db(&dir.path().join("kiosk.db"), "kiosk-node");
    let (recorder, reports) = crate::support::recorder::start(&db);
    crate::support::recorder::opened(&reports);
    let recorder = Arc::new(recorder);
    let incoming = dir.path().join("incoming");
    let node = NodeService::start(
        "127.0.0.1:0",
        ReceiverSettings {
            ae_title: "CMR_KIOSK".into(),
            callers: vec!["SCANNER".into()],
            store: incoming.clone(),
            keep_bytes: 1 << 40,
            idle: Duration::from_secs(30),
            discard_after: None,
        },
        log_to(Some(recorder.clone())),
    )
    .unwrap();
    let port = node.local_addr.port();

    let src = tempfile::tempdir().unwrap();
    let root = "1.2.826.0.1.3680043.9.7143";
    let study = SynthStudy::new(VendorStyle::Philips, root);
    let mut rest = standard_series(VendorStyle::Philips, ProtocolStep::RestPerfusion, root);
    rest.number = 7;
    let files = cmr_kiosk::dicom::synth::write_series(src.path(), &study, &rest, false).unwrap();
    let mut c = tool("storescu");
    c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd"])
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(src.path());
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = tool("echoscu");
    c.args(["-aet", "STRANGER", "-aec", "CMR_KIOSK", "127.0.0.1"])
        .arg(port.to_string());
    assert!(!c.output().unwrap().status.success());
    assert_eq!(node.counters.snapshot()[STORED] as usize, files.len());
    drop(node);

    // The exam's watch sees the series as it would from a share.
    let mut watch = FolderWatch::new(&incoming, Rules::builtin());
    let mut settled: Vec<WatchEvent> = Vec::new();
    for _ in 0..5 {
        settled.extend(watch.poll());
        std::thread::sleep(Duration::from_millis(20));
    }
    let series: Vec<_> = settled
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Series { report, .. } => Some(report),
            _ => None,
        })
        .collect();
    assert_eq!(series.len(), 1, "{settled:?}");
    assert_eq!(series[0].summary.files, files.len());
    assert_eq!(
        series[0].classification.step(),
        Some(ProtocolStep::RestPerfusion)
    );

    // The log holds the rows.
    drop(recorder);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rows = rt.block_on(async {
        let store = Store::open_kiosk(&db).await.unwrap();
        let rows = store.entries_after("kiosk-node", 0, 10_000).await.unwrap();
        store.close().await;
        rows
    });
    let audits: Vec<AuditEvent> = rows
        .iter()
        .filter(|r| r.actor == AUDIT_ACTOR)
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect();
    assert!(audits.iter().all(|a| a.action == AuditAction::DicomNode));
    let stored = audits
        .iter()
        .filter(|a| {
            a.subject
                .as_deref()
                .is_some_and(|s| s.starts_with("stored "))
        })
        .count();
    assert_eq!(stored, files.len(), "one row per acknowledged file");
    assert!(
        audits.iter().any(|a| a.user.as_deref() == Some("SCANNER")
            && a.subject
                .as_deref()
                .is_some_and(|s| s.starts_with("association from SCANNER"))),
        "the association"
    );
    assert!(
        audits
            .iter()
            .any(|a| matches!(&a.outcome, AuditOutcome::Failure { reason }
            if reason.contains("calling AE title not recognized"))),
        "the stranger's rejection: {audits:#?}"
    );
}

/// TLS (PS3.15 B.1): the kiosk's echo reaches dcmtk's storescp over TLS and its
/// worklist query reaches wlmscpfs behind a TLS terminator (stunnel), both trusting
/// only the CA the configuration names; a certificate from another CA is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_echo_and_worklist_over_tls_trust_only_the_configured_ca() {
    use crate::support::pg_tls::TestCa;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let cert = ca.server_cert(&["localhost"], &[loopback]);
    let (key_file, cert_file, ca_file) = (
        dir.path().join("server.key"),
        dir.path().join("server.crt"),
        dir.path().join("ca.crt"),
    );
    std::fs::write(&key_file, &cert.key_pem).unwrap();
    std::fs::write(&cert_file, &cert.cert_pem).unwrap();
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let other_ca_file = dir.path().join("other-ca.crt");
    std::fs::write(&other_ca_file, TestCa::new().cert_pem).unwrap();
    let tls = |ca: &Path| {
        Some(Arc::new(
            cmr_kiosk::audit::relay::ca_client_config(ca).unwrap(),
        ))
    };

    // Echo over TLS to dcmtk's storescp.
    let port = free_port();
    let out_dir = tempfile::tempdir().unwrap();
    let mut c = tool("storescp");
    c.args(["-aet", "PACS", "-ic", "+tls"])
        .arg(&key_file)
        .arg(&cert_file)
        .arg("-od")
        .arg(out_dir.path())
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _scp = Killed(c.spawn().unwrap());
    wait_listening(port);
    let mut peer: Peer = format!("PACS@127.0.0.1:{port}").parse().unwrap();
    peer.tls = tls(&ca_file);
    node::client::echo("CMR_KIOSK", &peer).await.unwrap();
    peer.tls = tls(&other_ca_file);
    let e = node::client::echo("CMR_KIOSK", &peer).await.unwrap_err();
    assert!(matches!(e, node::NodeError::Association(_)), "{e}");

    // The worklist over TLS: wlmscpfs behind stunnel.
    let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let wlm = mwl::serve(&[Scheduled {
        charset: "GB18030",
        name: "李^娜",
        id: "P000777".into(),
        sex: "F",
        accession: "ACC00777".into(),
        procedure: "心脏磁共振增强",
        date: "20261207".into(),
        time: "083000".into(),
        study_uid: "1.2.826.0.1.3680043.9.7147.1".into(),
    }]);
    let tls_port = free_port();
    let conf = dir.path().join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[mwl]\naccept = 127.0.0.1:{tls_port}\n\
             connect = 127.0.0.1:{}\ncert = {}\nkey = {}\n",
            wlm.port,
            cert_file.display(),
            key_file.display()
        ),
    )
    .unwrap();
    let mut c = tool("stunnel");
    c.arg(&conf).stdout(Stdio::null()).stderr(Stdio::null());
    let _tunnel = Killed(c.spawn().unwrap());
    wait_listening(tls_port);
    let mut ris: Peer = format!("RIS_MWL@127.0.0.1:{tls_port}").parse().unwrap();
    ris.tls = tls(&ca_file);
    let query = WorklistQuery {
        date: today,
        station_ae: "MR_SCANNER".into(),
        modality: "MR".into(),
    };
    let items = node::client::worklist("CMR_KIOSK", &ris, &query)
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].display_name(), "李娜");
    assert_eq!(items[0].accession, "ACC00777");
    // Plain TCP to the TLS port is not a worklist.
    ris.tls = None;
    assert!(
        node::client::worklist("CMR_KIOSK", &ris, &query)
            .await
            .is_err()
    );
}

/// More associations than the receiver serves at once: the next one is answered
/// A-ASSOCIATE-RJ (transient, local limit exceeded: PS3.8 9.3.4), counted, and a
/// slot frees once a silent peer is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_one_association_too_many_is_refused_for_the_local_limit() {
    let store = tempfile::tempdir().unwrap();
    let mut rx = receiver(store.path(), &[], Duration::from_millis(800)).await;
    let mut held = Vec::new();
    for _ in 0..node::receiver::MAX_ASSOCIATIONS {
        held.push(tokio::net::TcpStream::connect(rx.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a = associate(rx.addr, "SCANNER", "CMR_KIOSK", node::dimse::VERIFICATION).await;
    // A-ASSOCIATE-RJ: type 3; result 2 (transient), source 3 (service provider,
    // presentation), reason 2 (local limit exceeded).
    assert_eq!(a.first(), Some(&0x03), "{a:?}");
    assert_eq!(&a[7..10], &[0x02, 0x03, 0x02], "{a:?}");
    let reasons: Vec<String> = rx.rejections();
    assert!(
        reasons.iter().any(|r| r.contains("local limit")),
        "{reasons:?}"
    );
    // The silent ones are dropped after the idle time; then the kiosk answers again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let peer: Peer = format!("CMR_KIOSK@127.0.0.1:{}", rx.addr.port())
        .parse()
        .unwrap();
    node::client::echo("SCANNER", &peer).await.unwrap();
    drop(held);
}

/// The bounds crossed: a command set longer than `MAX_COMMAND_BYTES` aborts the
/// association; an instance over the receiver's size limit is refused with "out of
/// resources" (0xA700) and nothing is kept, a deflated one measured after inflating;
/// the association goes on; a worklist longer than asked for is cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_commands_instances_and_worklists_over_their_bounds_are_refused() {
    use dicom_ul::association::client::ClientAssociationOptions;
    use dicom_ul::pdu::PDataValueType;
    let store = tempfile::tempdir().unwrap();
    let mut rx = receiver_at_most(store.path(), &[], Duration::from_secs(30), 20_000).await;

    // A command set of 64 KiB + 1 in fragments.
    let mut assoc = ClientAssociationOptions::new()
        .calling_ae_title("SCANNER")
        .called_ae_title("CMR_KIOSK")
        .with_abstract_syntax(node::dimse::VERIFICATION)
        .establish_async(rx.addr)
        .await
        .unwrap();
    let pc = assoc.presentation_contexts()[0].id;
    let mut sent = 0;
    while sent <= node::receiver::MAX_COMMAND_BYTES {
        let n = 8000;
        let r = assoc
            .send(&one_pdv(pc, PDataValueType::Command, false, vec![0; n]))
            .await;
        if r.is_err() {
            break;
        }
        sent += n;
    }
    let _ = assoc.receive().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let aborted: Vec<String> = rx
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            NodeEvent::Aborted { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(
        aborted
            .iter()
            .any(|r| r.contains("command set longer than")),
        "{aborted:?}"
    );

    // Instances of about 18 KB and 45 KB against a limit of 20,000 bytes, plain and
    // deflated (the deflated one is small on the wire, large once inflated).
    let src = tempfile::tempdir().unwrap();
    let root = "1.2.826.0.1.3680043.9.7150";
    let study = SynthStudy::new(VendorStyle::Siemens, root);
    let mut small = standard_series(VendorStyle::Siemens, ProtocolStep::Lge, root);
    small.number = 1;
    small.uid = format!("{root}.1");
    let mut big = small.clone();
    big.number = 2;
    big.uid = format!("{root}.2");
    let small_dir = src.path().join("small");
    let big_dir = src.path().join("big");
    std::fs::create_dir_all(&small_dir).unwrap();
    std::fs::create_dir_all(&big_dir).unwrap();
    let small_files =
        cmr_kiosk::dicom::synth::write_series(&small_dir, &study, &small, false).unwrap();
    let big_files = cmr_kiosk::dicom::synth::write_series(&big_dir, &study, &big, true).unwrap();
    assert!(std::fs::metadata(&small_files[0]).unwrap().len() < 20_000);
    assert!(std::fs::metadata(&big_files[0]).unwrap().len() > 20_000);
    for (dir, deflate) in [(&small_dir, false), (&big_dir, false), (&big_dir, true)] {
        let mut c = tool("storescu");
        c.args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", "-nh"]);
        if deflate {
            c.arg("-xd");
        }
        c.arg("127.0.0.1").arg(rx.addr.port().to_string()).arg(dir);
        let _ = run(c).await;
    }
    let refused: Vec<(u16, String)> = rx
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            NodeEvent::Refused { status, reason, .. } => Some((status, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 2 * big_files.len(), "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|(s, r)| *s == node::dimse::status::OUT_OF_RESOURCES
                && r.contains("instance larger than 20000 bytes"))
    );
    let kept = files_under(&store.path().join(&study.study_uid));
    assert_eq!(
        kept.len(),
        small_files.len(),
        "only the small series is kept"
    );
    assert!(files_under(&store.path().join(node::receiver::SPOOL_DIR)).is_empty());

    // A worklist longer than asked for is cancelled, not read to the end.
    let wlm = mwl::serve(
        &(0..5)
            .map(|i| Scheduled {
                charset: "ISO_IR 192",
                name: "张^伟",
                id: format!("P{i:06}"),
                sex: "M",
                accession: format!("ACC{i:05}"),
                procedure: "心脏磁共振平扫",
                date: "20261207".into(),
                time: "090000".into(),
                study_uid: format!("1.2.826.0.1.3680043.9.7151.{i}"),
            })
            .collect::<Vec<_>>(),
    );
    let ris: Peer = format!("RIS_MWL@127.0.0.1:{}", wlm.port).parse().unwrap();
    let query = WorklistQuery {
        date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        station_ae: String::new(),
        modality: "MR".into(),
    };
    let e = node::client::worklist_at_most("CMR_KIOSK", &ris, &query, 3)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("more than 3 worklist items"), "{e}");
    assert_eq!(
        node::client::worklist_at_most("CMR_KIOSK", &ris, &query, 5)
            .await
            .unwrap()
            .len(),
        5
    );

    // An answer longer than MAX_IDENTIFIER_BYTES is refused, not read into memory
    // without end. No dcmtk tool sends one (its files cap text at 64 KiB), so a
    // hostile provider does, on the same upper layer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let provider = tokio::spawn(oversized_worklist_answer(listener));
    let ris: Peer = format!("RIS_MWL@127.0.0.1:{port}").parse().unwrap();
    let e = node::client::worklist("CMR_KIOSK", &ris, &query)
        .await
        .unwrap_err();
    // Without the bound the kiosk would wait for the identifier's end until its
    // deadline ("no answer within"): the refusal names the bound instead.
    assert!(e.to_string().contains("an identifier longer than"), "{e}");
    provider.await.unwrap();
}

/// A worklist provider answering the first C-FIND with one pending response whose
/// identifier does not end (4 MiB offered in 16 KiB fragments, none the last).
async fn oversized_worklist_answer(listener: tokio::net::TcpListener) {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;
    use dicom_ul::association::server::ServerAssociationOptions;
    use dicom_ul::pdu::{PDataValueType, Pdu};
    let (socket, _) = listener.accept().await.unwrap();
    let mut assoc = ServerAssociationOptions::new()
        .accept_any()
        .with_abstract_syntax(node::dimse::MODALITY_WORKLIST_FIND)
        .establish_async(socket)
        .await
        .unwrap();
    let pc = assoc.presentation_contexts()[0].id;
    // The request: its command, then its identifier.
    loop {
        if let Pdu::PData { data } = assoc.receive().await.unwrap()
            && data
                .iter()
                .any(|v| v.value_type == PDataValueType::Data && v.is_last)
        {
            break;
        }
    }
    let command = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(node::dimse::MODALITY_WORKLIST_FIND),
        ),
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            PrimitiveValue::from(node::dimse::field::C_FIND_RSP),
        ),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            PrimitiveValue::from(1u16),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(node::dimse::DATASET_PRESENT),
        ),
        DataElement::new(
            tags::STATUS,
            VR::US,
            PrimitiveValue::from(node::dimse::status::PENDING),
        ),
    ]);
    let mut bytes = Vec::new();
    command
        .write_dataset_with_ts(
            &mut bytes,
            &dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .unwrap();
    assoc
        .send(&one_pdv(pc, PDataValueType::Command, true, bytes))
        .await
        .unwrap();
    let mut sent = 0;
    while sent < 4 * 1024 * 1024 {
        let chunk = one_pdv(pc, PDataValueType::Data, false, vec![0x20; 16 * 1024]);
        if assoc.send(&chunk).await.is_err() {
            break;
        }
        sent += 16 * 1024;
    }
}

/// One P-DATA-TF with one presentation data value.
fn one_pdv(
    pc: u8,
    kind: dicom_ul::pdu::PDataValueType,
    is_last: bool,
    data: Vec<u8>,
) -> dicom_ul::pdu::Pdu {
    dicom_ul::pdu::Pdu::PData {
        data: vec![dicom_ul::pdu::PDataValue {
            presentation_context_id: pc,
            value_type: kind,
            is_last,
            data,
        }],
    }
}
