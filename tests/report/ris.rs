//! Issue 15: the report's technique section to the RIS as an HL7 v2 ORU^R01 over
//! MLLP, checked against an independent HL7 implementation — Debian's python3-hl7:
//! its parser reads the message, and its asyncio MLLP server (a child process) is
//! the RIS that acknowledges it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::postgres_url;
use chrono::{NaiveDate, NaiveDateTime};
use cmr_kiosk::domain::screening::Sex;
use cmr_kiosk::report::hl7::{OrderKey, OruSettings, RisReport, TextStyle, build_oru};
use cmr_kiosk::report::ris::{self, SendReport};
use cmr_kiosk::store::outbox::OutboxState;
use cmr_kiosk::store::{ExamId, Store};
use serde_json::Value;

/// Debian's interpreter, where python3-hl7 is installed (not a pyenv one on PATH).
const PYTHON: &str = "/usr/bin/python3";

/// Reads the message in argv[1] with python-hl7 and prints its fields as JSON.
const PARSE_PY: &str = r#"
import json, sys, hl7
text = open(sys.argv[1], encoding="utf-8", newline="").read()
m = hl7.parse(text)
def f(seg, n):
    return str(m.segment(seg)[n])
def u(s):
    return m.unescape(s)
obx = [{"type": str(s[2]), "id": str(s[3]), "sub": str(s[4]),
        "value": u(str(s[5])), "status": str(s[11])}
       for s in m.segments("OBX")]
print(json.dumps({
    "msh9": f("MSH", 9), "msh10": f("MSH", 10), "msh11": f("MSH", 11),
    "msh12": f("MSH", 12), "msh18": f("MSH", 18),
    "pid3": str(m["PID.F3.R1.C1"]), "pid5": u(f("PID", 5)),
    "pid7": f("PID", 7), "pid8": f("PID", 8),
    "orc2": f("ORC", 2), "orc3": f("ORC", 3),
    "obr2": f("OBR", 2), "obr3": f("OBR", 3), "obr4": f("OBR", 4),
    "obr25": f("OBR", 25), "obx": obx,
}, ensure_ascii=False))
"#;

/// A RIS: python-hl7's MLLP server on 127.0.0.1:argv[1]. It appends each message
/// received to the file argv[3] (one JSON string a line) before it answers with
/// the codes in argv[2] (comma-separated, one per message, the last repeated).
const SERVER_PY: &str = r#"
import asyncio, json, os, sys, hl7, hl7.mllp
port, codes, log = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
count = 0

async def client(reader, writer):
    global count
    try:
        while True:
            msg = await reader.readmessage()
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps(str(msg)) + "\n")
                out.flush()
                os.fsync(out.fileno())
            code = codes[min(count, len(codes) - 1)]
            count += 1
            ack = msg.create_ack(code)
            if code != "AA":
                ack.segment("MSA").assign_field("RIS says " + code, 3)
            writer.writemessage(ack)
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()

async def main():
    server = await hl7.mllp.start_hl7_server(client, "127.0.0.1", port, encoding="utf-8")
    print("READY", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

/// A line with every HL7 delimiter and the escape character in it.
const DELIMITERS_LINE: &str = r"Flow | phase ^ contrast ~ 2 & 3 \ done";

fn at(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 7)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .unwrap()
}

fn settings() -> OruSettings {
    OruSettings {
        sending_application: "CMR_KIOSK".into(),
        sending_facility: "FUWAI".into(),
        receiving_application: "RIS".into(),
        receiving_facility: "FUWAI".into(),
        order_key: OrderKey::Obr3,
        text: TextStyle::Tx,
    }
}

fn report(exam: ExamId, accession: &str) -> RisReport {
    RisReport {
        patient_id: "P0012345".into(),
        patient_name: "王小东".into(),
        sex: Some(Sex::Male),
        birth_date: NaiveDate::from_ymd_opt(1968, 3, 9),
        accession: accession.into(),
        study_instance_uid: Some("1.2.826.0.1.3680043.8.498.1".into()),
        exam_id: exam.0,
        exam_started: at(9, 30),
        training: false,
        correction: false,
        title: "检查技术".into(),
        lines: vec![
            "1.5 T Siemens MAGNETOM Aera".into(),
            "电影 SSFP，短轴及长轴".into(),
            DELIMITERS_LINE.into(),
        ],
        settings: settings(),
    }
}

/// python-hl7's reading of `message`.
pub(crate) fn parse_with_python_hl7(dir: &Path, message: &str) -> Value {
    let file = dir.join("message.hl7");
    std::fs::write(&file, message).unwrap();
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(PARSE_PY)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-hl7 could not parse the message: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The python-hl7 RIS, a child process killed when dropped.
pub(crate) struct Ris {
    child: Child,
    log: PathBuf,
}

impl Ris {
    pub(crate) fn start(dir: &Path, port: u16, codes: &str) -> Ris {
        let script = dir.join("ris_server.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let log = dir.join("received.jsonl");
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(codes)
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "the python-hl7 RIS did not start");
        Ris { child, log }
    }

    /// Every message it received, in order.
    pub(crate) fn received(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Ris {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open_store(dir: &Path) -> Store {
    Store::open(&format!("sqlite:{}", dir.join("kiosk.db").display()))
        .await
        .unwrap()
}

fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

pub(crate) fn msh10(message: &str) -> &str {
    message.split('|').nth(9).unwrap()
}

#[test]
fn issue_15_ris_oru_is_parsed_by_python_hl7() {
    let dir = tempfile::tempdir().unwrap();
    let exam = ExamId::new();
    let r = report(exam, "ACC2612070042");
    let message = build_oru(&r, "CMR0000000000000001", at(10, 15));
    assert_eq!(message, build_oru(&r, "CMR0000000000000001", at(10, 15)));
    assert!(!message.contains('\n'), "segments end with CR only");

    let m = parse_with_python_hl7(dir.path(), &message);
    assert_eq!(m["msh9"], "ORU^R01^ORU_R01");
    assert_eq!(m["msh10"], "CMR0000000000000001");
    assert_eq!(m["msh11"], "P");
    assert_eq!(m["msh12"], "2.5.1");
    assert_eq!(m["msh18"], "UNICODE UTF-8");
    assert_eq!(m["pid3"], "P0012345");
    assert_eq!(m["pid5"], "王小东");
    assert_eq!(m["pid7"], "19680309");
    assert_eq!(m["pid8"], "M");
    // The default order key: the filler order number in ORC-3 and OBR-3.
    assert_eq!(m["orc3"], "ACC2612070042");
    assert_eq!(m["obr3"], "ACC2612070042");
    assert_eq!(m["orc2"], "");
    assert_eq!(m["obr2"], "");
    assert_eq!(m["obr4"], "CMR-TECH^Cardiac MR technique^L");
    assert_eq!(m["obr25"], "F");

    let obx = m["obx"].as_array().unwrap();
    let expected: Vec<&str> = std::iter::once(r.title.as_str())
        .chain(r.lines.iter().map(String::as_str))
        .collect();
    assert_eq!(obx.len(), expected.len(), "one TX OBX per line");
    for (i, (o, line)) in obx.iter().zip(&expected).enumerate() {
        assert_eq!(o["type"], "TX");
        assert_eq!(o["sub"], (i + 1).to_string());
        assert_eq!(o["status"], "F");
        assert_eq!(o["value"], *line, "OBX {} round-trips", i + 1);
    }
    assert_eq!(obx[3]["value"], DELIMITERS_LINE);
}

#[test]
fn issue_15_ris_oru_placer_key_ft_text_and_training_read_by_python_hl7() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = report(ExamId::new(), "ACC7");
    r.settings.order_key = OrderKey::Orc2;
    r.settings.text = TextStyle::Ft;
    r.training = true;
    let m = parse_with_python_hl7(dir.path(), &build_oru(&r, "CTRL7", at(10, 0)));
    assert_eq!(
        m["msh11"], "T",
        "a training exam is never filed as a patient's"
    );
    assert_eq!(m["orc2"], "ACC7");
    assert_eq!(m["obr2"], "ACC7");
    assert_eq!(m["obr3"], "");
    let obx = m["obx"].as_array().unwrap();
    assert_eq!(obx.len(), 1);
    assert_eq!(obx[0]["type"], "FT");
    // python-hl7 turns the FT line break `\.br\` into CR.
    let lines: Vec<&str> = obx[0]["value"].as_str().unwrap().split('\r').collect();
    assert_eq!(lines[0], r.title);
    assert_eq!(&lines[1..], &r.lines[..]);
}

#[tokio::test]
async fn issue_15_ris_ack_aa_marks_the_row_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    let queued = ris::enqueue(&store, &report(exam, "ACC1"), at(10, 0))
        .await
        .unwrap();
    assert!(queued.new);
    assert_eq!(queued.row.state, OutboxState::Pending);

    let port = free_port();
    let server = Ris::start(dir.path(), port, "AA");
    let sent = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(
        sent,
        SendReport {
            sent: 1,
            ..SendReport::default()
        }
    );
    let rows = store.outbox_rows(exam).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutboxState::Sent);
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].sent_at.is_some());
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(msh10(&received[0]), rows[0].control_id);
    assert_eq!(received[0], rows[0].message, "received as stored");

    // Nothing left: a second run sends nothing.
    let again = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(again, SendReport::default());
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn issue_15_ris_ae_then_aa_is_sent_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    ris::enqueue(&store, &report(exam, "ACC2"), at(10, 0))
        .await
        .unwrap();
    let port = free_port();
    let server = Ris::start(dir.path(), port, "AE,AA");

    let first = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!((first.sent, first.retried), (0, 1));
    assert!(first.must_retry());
    let row = &store.outbox_rows(exam).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Pending);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("AE: RIS says AE"));

    let second = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!((second.sent, second.retried), (1, 0));
    let row = &store.outbox_rows(exam).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Sent);
    assert_eq!(row.attempts, 2);
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1], "the retry is the same message");
    assert_eq!(msh10(&received[1]), row.control_id);
}

#[tokio::test]
async fn issue_15_ris_ar_fails_permanently_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    ris::enqueue(&store, &report(exam, "ACC3"), at(10, 0))
        .await
        .unwrap();
    let port = free_port();
    let server = Ris::start(dir.path(), port, "AR");

    let r = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!((r.sent, r.retried, r.failed), (0, 0, 1));
    let row = &store.outbox_rows(exam).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Failed);
    assert_eq!(row.last_error.as_deref(), Some("AR: RIS says AR"));

    // Never retried.
    let again = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(again, SendReport::default());
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn issue_15_ris_down_keeps_the_row_pending_and_counts_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    ris::enqueue(&store, &report(exam, "ACC4"), at(10, 0))
        .await
        .unwrap();
    let port = free_port();
    for n in 1..=2 {
        let r = ris::send_pending_once(&store, &address(port))
            .await
            .unwrap();
        assert_eq!((r.sent, r.retried), (0, 1));
        assert!(r.last_error.as_deref().unwrap().contains("cannot connect"));
        let row = &store.outbox_rows(exam).await.unwrap()[0];
        assert_eq!(row.state, OutboxState::Pending);
        assert_eq!(row.attempts, n);
    }
}

#[tokio::test]
async fn issue_15_ris_restart_during_a_pending_send_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let exam = ExamId::new();
    let port = free_port();
    let control = {
        let store = open_store(dir.path()).await;
        let queued = ris::enqueue(&store, &report(exam, "ACC5"), at(10, 0))
            .await
            .unwrap();
        // The RIS is down: the send fails and the row stays.
        let r = ris::send_pending_once(&store, &address(port))
            .await
            .unwrap();
        assert_eq!(r.retried, 1);
        store.close().await;
        queued.row.control_id
    };

    // The kiosk restarts: a new store on the same file; the RIS is back.
    let store = open_store(dir.path()).await;
    let server = Ris::start(dir.path(), port, "AA");
    let r = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one message");
    assert_eq!(
        msh10(&received[0]),
        control,
        "the same control id after the restart"
    );
    let r = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(r, SendReport::default());
    assert_eq!(server.received().len(), 1, "still one");

    // A row already sent is never re-sent after another restart, and producing the
    // report again queues nothing.
    store.close().await;
    let store = open_store(dir.path()).await;
    let again = ris::enqueue(&store, &report(exam, "ACC5"), at(11, 0))
        .await
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.row.state, OutboxState::Sent);
    let r = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(r, SendReport::default());
    assert_eq!(server.received().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn issue_15_ris_enqueue_twice_for_one_exam_keeps_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    let first = ris::enqueue(&store, &report(exam, "ACC6"), at(10, 0))
        .await
        .unwrap();
    let mut changed = report(exam, "ACC6");
    changed.lines.push("another line".into());
    let second = ris::enqueue(&store, &changed, at(10, 5)).await.unwrap();
    assert!(first.new && !second.new);
    assert_eq!(second.row, first.row, "the first message is kept as it was");
    assert_eq!(store.outbox_rows(exam).await.unwrap().len(), 1);

    // Only an explicit correction makes a second message, with its own control id.
    let correction = ris::enqueue_correction(&store, &changed, at(10, 10))
        .await
        .unwrap();
    assert!(correction.new);
    assert_ne!(correction.row.control_id, first.row.control_id);
    assert!(correction.row.message.contains("|C\r"));
    let rows = store.outbox_rows(exam).await.unwrap();
    assert_eq!(rows.len(), 2);

    // Sent in order: the report, then its correction.
    let port = free_port();
    let server = Ris::start(dir.path(), port, "AA");
    let r = ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    assert_eq!(r.sent, 2);
    let received = server.received();
    assert_eq!(msh10(&received[0]), first.row.control_id);
    assert_eq!(msh10(&received[1]), correction.row.control_id);
}

#[tokio::test]
async fn issue_15_ris_outbox_works_on_postgresql() {
    let Some(url) = postgres_url("issue_15_ris_outbox_works_on_postgresql") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url).await.unwrap();
    let exam = ExamId::new();
    let first = ris::enqueue(&store, &report(exam, "ACC-PG"), at(10, 0))
        .await
        .unwrap();
    let second = ris::enqueue(&store, &report(exam, "ACC-PG"), at(10, 1))
        .await
        .unwrap();
    assert!(first.new && !second.new);
    assert_eq!(store.outbox_rows(exam).await.unwrap().len(), 1);

    // Other tests share the database: only this exam's row is checked.
    let port = free_port();
    let server = Ris::start(dir.path(), port, "AA");
    ris::send_pending_once(&store, &address(port))
        .await
        .unwrap();
    let row = &store.outbox_rows(exam).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Sent);
    let mine: Vec<_> = server
        .received()
        .into_iter()
        .filter(|m| msh10(m) == row.control_id)
        .collect();
    assert_eq!(mine.len(), 1);
    store.close().await;
}

#[test]
fn issue_15_ris_config_is_read_and_bad_values_name_their_key() {
    use cmr_kiosk::config::{Config, ConfigError};
    let c = Config::parse(
        "[ris]\naddress = \"ris.hospital.example:2575\"\nreceiving_application = \"RIS\"\n\
         order_key = \"orc2\"\ntext = \"ft\"\n",
    )
    .unwrap();
    assert_eq!(c.ris.address, "ris.hospital.example:2575");
    let s = OruSettings::from_config(&c.ris);
    assert_eq!(
        (s.order_key, s.text, s.sending_application.as_str()),
        (OrderKey::Orc2, TextStyle::Ft, "CMR_KIOSK")
    );
    assert!(
        Config::parse("").unwrap().ris.address.is_empty(),
        "no RIS by default"
    );
    for (text, key) in [
        ("[ris]\naddress = \"ris-without-port\"", "ris.address"),
        ("[ris]\naddress = \"ris:0\"", "ris.address"),
        (
            "[ris]\nreceiving_facility = \"A|B\"",
            "ris.receiving_facility",
        ),
    ] {
        match Config::parse(text) {
            Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(matches!(
        Config::parse("[ris]\norder_key = \"pid3\""),
        Err(ConfigError::Syntax(_))
    ));
}

/// A RIS written in the test: it reads one MLLP frame and answers `answer(control id)`
/// (or nothing), then holds the connection open until the test ends.
fn scripted_ris(answer: impl Fn(&str) -> Option<Vec<u8>> + Send + 'static) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(&[0x1C, 0x0D]) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(reply) = answer(msh10(
            text.trim_matches(|c| c == '\u{b}' || c == '\u{1c}' || c == '\r'),
        )) {
            let _ = s.write_all(&reply);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    port
}

fn aa_ack(control: &str) -> Vec<u8> {
    let mut f = vec![0x0B];
    f.extend_from_slice(
        format!(
            "MSH|^~\\&|RIS|HOSPITAL|CMR_KIOSK|HOSPITAL|20261207103000||ACK^R01^ACK|ACK-{control}|P|2.5.1\rMSA|AA|{control}\r"
        )
        .as_bytes(),
    );
    f.extend_from_slice(&[0x1C, 0x0D]);
    f
}

/// A RIS that takes the message and never answers: the exchange is given up at the
/// ACK deadline (300 ms here, `ACK_TIMEOUT` in the kiosk) and the row stays pending.
#[tokio::test]
async fn issue_15_ris_without_an_ack_is_given_up_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    ris::enqueue(&store, &report(exam, "ACC8"), at(10, 0))
        .await
        .unwrap();
    let port = scripted_ris(|_| None);
    let limits = ris::SendLimits {
        ack: std::time::Duration::from_millis(300),
        ..ris::SendLimits::default()
    };
    let r = ris::send_pending_once_with(&store, &address(port), &limits)
        .await
        .unwrap();
    assert_eq!((r.sent, r.retried), (0, 1));
    assert!(
        r.last_error.as_deref().unwrap().contains("within 300 ms"),
        "{r:?}"
    );
    let row = &store.outbox_rows(exam).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Pending);
}

/// An ACK frame over the size bound is not read as an ACK (the bound lowered to 64
/// bytes here, `MAX_ACK_FRAME` in the kiosk): the row stays pending; the same ACK
/// within the bound marks it sent.
#[tokio::test]
async fn issue_15_ris_ack_over_the_frame_bound_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let exam = ExamId::new();
    ris::enqueue(&store, &report(exam, "ACC9"), at(10, 0))
        .await
        .unwrap();
    let tight = ris::SendLimits {
        ack: std::time::Duration::from_millis(500),
        max_ack_frame: 64,
        ..ris::SendLimits::default()
    };
    let port = scripted_ris(|c| Some(aa_ack(c)));
    let r = ris::send_pending_once_with(&store, &address(port), &tight)
        .await
        .unwrap();
    assert_eq!(r.sent, 0, "{r:?}");
    assert_eq!(
        store.outbox_rows(exam).await.unwrap()[0].state,
        OutboxState::Pending
    );
    let port = scripted_ris(|c| Some(aa_ack(c)));
    let r = ris::send_pending_once_with(&store, &address(port), &ris::SendLimits::default())
        .await
        .unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    assert_eq!(
        store.outbox_rows(exam).await.unwrap()[0].state,
        OutboxState::Sent
    );
}
