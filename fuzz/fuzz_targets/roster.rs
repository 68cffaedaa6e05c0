//! Rosters (`check --roster`, CSV or YAML): read with the log's time options, then
//! asked who is available when. Flag byte: bit 0 YAML, bit 1 a time zone for local
//! times, bit 2 assume UTC.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((flag, body)) = procedo_fuzz::split_flag(data) else {
        return;
    };
    let name = if flag & 1 != 0 {
        "roster.yaml"
    } else {
        "roster.csv"
    };
    let path = procedo_fuzz::write_input(name, body, procedo_fuzz::Packing::Plain);
    let opts = procedo::log::LogOptions {
        timezone: (flag & 2 != 0).then_some(chrono_tz::Europe::London),
        assume_utc: flag & 4 != 0,
        ..Default::default()
    };
    let roster = match procedo::audit::Roster::read_with(&path, Some(&opts)) {
        Ok(r) => r,
        Err(why) => {
            assert!(why.contains("roster."), "an error names the file: {why}");
            return;
        }
    };
    let times = [
        "2026-03-02T10:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ];
    for unit in roster.units.values() {
        for t in times {
            let t = chrono::DateTime::parse_from_rfc3339(t)
                .expect("fixed time")
                .with_timezone(&chrono::Utc);
            let _ = roster.available(unit, t);
        }
    }
});
