//! Incident records for `assess` (YAML, JSON, JSON Lines, CSV; gzip): every record is
//! read with its location, numbered from 1 in order, and is either assessed or
//! rejected with a reason. The flag byte chooses the format (bits 2-3) and packing.
#![no_main]

use std::sync::OnceLock;

use procedo::input::{InputFormat, RawRecord, read_records};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static P: OnceLock<procedo::Procedure> = OnceLock::new();
    let p = P.get_or_init(|| procedo_fuzz::procedure("tests/assess/hit_policies.proc"));
    let Some((flag, body)) = procedo_fuzz::split_flag(data) else {
        return;
    };
    let (ext, format) = match (flag >> 2) % 4 {
        0 => ("yaml", InputFormat::Yaml),
        1 => ("json", InputFormat::Json),
        2 => ("jsonl", InputFormat::Jsonl),
        _ => ("csv", InputFormat::Csv),
    };
    let path = procedo_fuzz::write_input(
        &format!("incidents.{ext}"),
        body,
        procedo_fuzz::Packing::from_flag(flag),
    );
    assert_eq!(
        InputFormat::detect(&path),
        Some(format),
        "format from the name"
    );
    let assessor = procedo::eval::Assessor::new(p);
    let (mut read, mut assessed, mut rejected) = (0usize, 0usize, 0usize);
    let mut last_line = 0usize;
    let result = read_records(&path, format, &mut |loc, rec| {
        read += 1;
        assert_eq!(loc.record, read, "records numbered in order: {loc}");
        assert!(!loc.file.is_empty(), "a location names its file");
        if let Some(line) = loc.line {
            assert!(line >= last_line, "lines never go back: {loc}");
            last_line = line;
        }
        let validated = match &rec {
            Err(why) => {
                assert!(!why.is_empty(), "an unreadable record says why");
                Err(())
            }
            Ok(RawRecord::JsonText(text)) => assessor
                .facts_from_json_str(text, false, &["id", "priority"])
                .map(|(f, _)| f)
                .map_err(|e| assert!(!e.is_empty(), "a rejection says why")),
            Ok(RawRecord::Json(m)) => assessor
                .facts_from_json(m, false)
                .map_err(|e| assert!(!e.is_empty(), "a rejection says why")),
            Ok(r @ RawRecord::Text(..)) => assessor
                .facts_from_text(r.text_fields(), &["".to_string(), "NA".to_string()])
                .map_err(|e| assert!(!e.is_empty(), "a rejection says why")),
        };
        match validated {
            Ok(facts) => {
                let _ = assessor.assess(facts);
                assessed += 1;
            }
            Err(()) => rejected += 1,
        }
    });
    if let Err(why) = result {
        assert!(!why.is_empty(), "an unreadable file says why");
    }
    assert_eq!(
        read,
        assessed + rejected,
        "every record assessed or rejected"
    );
});
