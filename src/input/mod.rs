//! Incident record readers: YAML, JSON, JSON Lines and CSV (optionally gzipped).
//!
//! Each record comes with its location (file, record number, line). A record that
//! cannot be read is yielded as an error at its location; reading goes on. Streams
//! where the format allows (JSON Lines, CSV); whole-file formats are parsed at once.
//!
//! Bounds (docs/robustness.md): one record (a JSON Lines line, a CSV row) is at most
//! [`MAX_RECORD_BYTES`]; a longer JSON Lines line is rejected at its location and
//! skipped without being held, a longer CSV row stops the read with an error naming
//! its line. A whole-file document (YAML, JSON) is at most [`MAX_DOCUMENT_BYTES`] once
//! decompressed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Most bytes one record (a JSON Lines line, a CSV row, an XES element) may take.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Most bytes a document read whole (YAML, JSON) may take once decompressed.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// Reads a whole document (at most [`MAX_DOCUMENT_BYTES`]) as text.
pub fn read_document(reader: &mut dyn BufRead, file: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{file}`: {e}"))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "{file}: larger than {} MiB (once decompressed), the most a document read whole may be; \
             write the records as JSON Lines or CSV, which are read one record at a time",
            MAX_DOCUMENT_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read `{file}`: stream did not contain valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// One record's fields before validation.
#[derive(Debug, Clone)]
pub enum RawRecord {
    /// From JSON or YAML.
    Json(serde_json::Map<String, serde_json::Value>),
    /// One JSON Lines record, not yet parsed (the assessor parses it straight into facts).
    JsonText(String),
    /// From CSV: the shared header row and one row.
    Text(std::sync::Arc<Vec<String>>, csv::StringRecord),
}

impl RawRecord {
    /// The text of a field, if present.
    pub fn get_text(&self, field: &str) -> Option<String> {
        match self {
            RawRecord::Json(m) => m.get(field).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            }),
            RawRecord::Text(headers, row) => headers
                .iter()
                .position(|h| h == field)
                .and_then(|i| row.get(i))
                .map(str::to_string),
            RawRecord::JsonText(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(m)) => RawRecord::Json(m).get_text(field),
                _ => None,
            },
        }
    }

    /// (column, text) pairs of a CSV record; empty for JSON records.
    pub fn text_fields(&self) -> impl Iterator<Item = (&str, &str)> {
        let pairs: Box<dyn Iterator<Item = (&str, &str)>> = match self {
            RawRecord::Text(headers, row) => {
                Box::new(headers.iter().map(String::as_str).zip(row.iter()))
            }
            RawRecord::Json(_) | RawRecord::JsonText(_) => Box::new(std::iter::empty()),
        };
        pairs
    }
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// 1-based record number within the file.
    pub record: usize,
    /// 1-based line, where the format has lines.
    pub line: Option<usize>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: record {}", self.file, self.record),
            None => write!(f, "{}: record {}", self.file, self.record),
        }
    }
}

/// Where a record came from, the file name borrowed (what the row readers hand out;
/// shown as [`Location`] is).
pub(crate) struct Loc<'a> {
    pub(crate) file: &'a str,
    pub(crate) record: usize,
    pub(crate) line: Option<usize>,
}

impl Loc<'_> {
    pub(crate) fn owned(&self) -> Location {
        Location {
            file: self.file.to_string(),
            record: self.record,
            line: self.line,
        }
    }
}

impl std::fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: record {}", self.file, self.record),
            None => write!(f, "{}: record {}", self.file, self.record),
        }
    }
}

/// One JSON Lines or CSV record, borrowed from the reader's buffers (nothing copied).
pub(crate) enum Row<'r> {
    /// One JSON Lines line, trimmed, not yet parsed.
    Json(&'r str),
    /// The shared header row and one CSV row (as many fields as the header).
    Csv(&'r std::sync::Arc<Vec<String>>, &'r csv::StringRecord),
}

impl Row<'_> {
    pub(crate) fn owned(&self) -> RawRecord {
        match *self {
            Row::Json(t) => RawRecord::JsonText(t.to_string()),
            Row::Csv(h, r) => RawRecord::Text(h.clone(), r.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Yaml,
    Json,
    Jsonl,
    Csv,
}

impl InputFormat {
    /// Guesses the format from the file name (a `.gz` suffix is looked through).
    pub fn detect(path: &Path) -> Option<InputFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit('.').next()?;
        match ext {
            "yaml" | "yml" => Some(InputFormat::Yaml),
            "json" => Some(InputFormat::Json),
            "jsonl" | "ndjson" => Some(InputFormat::Jsonl),
            "csv" => Some(InputFormat::Csv),
            _ => None,
        }
    }
}

/// Opens a file, transparently decompressing `.gz`, and skips a UTF-8 byte-order mark.
/// `-` is standard input: read once into memory (so that readers can make several passes),
/// decompressed when it starts with the gzip magic bytes.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
        let bytes = stdin_bytes()?;
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(std::io::Cursor::new(bytes)),
            ))
        } else {
            Box::new(std::io::Cursor::new(bytes))
        }
    } else {
        let file = File::open(path)?;
        let is_gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if is_gz {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(file),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        }
    };
    skip_bom(&mut reader)?;
    Ok(reader)
}

/// Standard input, read to its end on first use and kept for later passes.
fn stdin_bytes() -> std::io::Result<&'static [u8]> {
    static STDIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(b) = STDIN.get() {
        return Ok(b);
    }
    let mut buf = Vec::new();
    std::io::stdin().lock().read_to_end(&mut buf)?;
    Ok(STDIN.get_or_init(|| buf))
}

/// Skips a UTF-8 byte-order mark at the start of a stream.
fn skip_bom(r: &mut dyn BufRead) -> std::io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut matched = 0;
    // A decompressor may hand out fewer than three bytes at first.
    while matched < BOM.len() {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = (BOM.len() - matched).min(buf.len());
        if buf[..n] != BOM[matched..matched + n] {
            return Ok(());
        }
        r.consume(n);
        matched += n;
    }
    Ok(())
}

/// Strips a UTF-8 byte-order mark from text read whole.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Reads every record of a file, calling `each` with its location and fields (or the
/// reason it could not be read). Returns an error only when the file as a whole
/// cannot be read; per-record problems go to `each`.
pub fn read_records(
    path: &Path,
    format: InputFormat,
    each: &mut dyn FnMut(Location, Result<RawRecord, String>),
) -> Result<(), String> {
    if matches!(format, InputFormat::Jsonl | InputFormat::Csv) {
        return read_rows(path, format, &mut |loc, row| {
            each(loc.owned(), row.map(|r| r.owned()))
        });
    }
    let file = path.display().to_string();
    let reader = open(path).map_err(|e| format!("cannot open `{file}`: {e}"))?;
    match format {
        InputFormat::Jsonl | InputFormat::Csv => unreachable!("read as rows above"),
        InputFormat::Json | InputFormat::Yaml => {
            let mut reader = reader;
            let text = read_document(&mut reader, &file)?;
            let doc: serde_json::Value = if format == InputFormat::Json {
                serde_json::from_str(&text).map_err(|e| {
                    format!("{file}:{}:{}: not valid JSON: {e}", e.line(), e.column())
                })?
            } else {
                serde_yaml::from_str(&text).map_err(|e| match e.location() {
                    Some(l) => format!("{file}:{}:{}: not valid YAML: {e}", l.line(), l.column()),
                    None => format!("{file}: not valid YAML: {e}"),
                })?
            };
            let items = match doc {
                serde_json::Value::Array(xs) => xs,
                serde_json::Value::Object(mut m) => match m.remove("incidents") {
                    Some(serde_json::Value::Array(xs)) => xs,
                    Some(_) => {
                        return Err(format!("{file}: `incidents` must be a list of records"));
                    }
                    None => vec![serde_json::Value::Object(m)],
                },
                _ => {
                    return Err(format!(
                        "{file}: expected a list of records, or an object with `incidents: [...]`"
                    ));
                }
            };
            for (i, item) in items.into_iter().enumerate() {
                let loc = Location {
                    file: file.clone(),
                    record: i + 1,
                    line: None,
                };
                match item {
                    serde_json::Value::Object(m) => each(loc, Ok(RawRecord::Json(m))),
                    other => each(
                        loc,
                        Err(format!(
                            "a record must be an object of fields, found {other}"
                        )),
                    ),
                }
            }
            Ok(())
        }
    }
}

/// [`read_records`] for JSON Lines and CSV, each record borrowed: the log reader's
/// way, which copies nothing it does not keep. Other formats read no records.
pub(crate) fn read_rows(
    path: &Path,
    format: InputFormat,
    each: &mut dyn FnMut(&Loc<'_>, Result<Row<'_>, String>),
) -> Result<(), String> {
    let file = path.display().to_string();
    let reader = open(path).map_err(|e| format!("cannot open `{file}`: {e}"))?;
    match format {
        InputFormat::Jsonl => read_jsonl(&file, reader, each),
        InputFormat::Csv => read_csv(&file, reader, each),
        InputFormat::Json | InputFormat::Yaml => Ok(()),
    }
}

fn read_jsonl(
    file: &str,
    mut reader: Box<dyn BufRead + Send>,
    each: &mut dyn FnMut(&Loc<'_>, Result<Row<'_>, String>),
) -> Result<(), String> {
    let mut line = Vec::new();
    let mut line_no = 0;
    let mut record = 0;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{file}:{}: cannot read: {e}", line_no + 1))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let too_long = line.len() > MAX_RECORD_BYTES;
        if too_long {
            // The rest of the line is skipped without being held.
            line.clear();
            skip_line(&mut reader).map_err(|e| format!("{file}:{line_no}: cannot read: {e}"))?;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(t) => Ok(t.trim()),
            Err(e) => Err(format!(
                "not UTF-8 text (byte {} of the line)",
                e.valid_up_to() + 1
            )),
        };
        if matches!(text, Ok("")) && !too_long {
            continue;
        }
        record += 1;
        let loc = Loc {
            file,
            record,
            line: Some(line_no),
        };
        let rec = if too_long {
            Err(format!(
                "the line is longer than {} MiB, the most one record may be",
                MAX_RECORD_BYTES >> 20
            ))
        } else {
            text.map(Row::Json)
        };
        each(&loc, rec);
    }
}

/// Consumes the stream up to and including the next newline (or its end).
fn skip_line(reader: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            reader.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        reader.consume(n);
    }
}

fn read_csv(
    file: &str,
    reader: Box<dyn BufRead + Send>,
    each: &mut dyn FnMut(&Loc<'_>, Result<Row<'_>, String>),
) -> Result<(), String> {
    // csv counts a CRLF row's line from its `\r`, one too low: count newlines ourselves.
    let newlines = std::rc::Rc::new(std::cell::RefCell::new(Lines::default()));
    let counted = LineCounter {
        inner: reader,
        offset: 0,
        lines: newlines.clone(),
    };
    let line_at = |byte: u64| newlines.borrow_mut().line_at(byte);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(counted);
    let headers: std::sync::Arc<Vec<String>> = rdr
        .headers()
        .map_err(|e| format!("{file}:1: cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect::<Vec<_>>()
        .into();
    // A repeated column would leave one of its values unread.
    for (i, h) in headers.iter().enumerate() {
        if !h.is_empty() && headers[..i].contains(h) {
            return Err(format!(
                "{file}:1: column `{h}` appears twice in the header row"
            ));
        }
    }
    let mut row = csv::StringRecord::new();
    let mut record = 0;
    loop {
        newlines.borrow_mut().start = rdr.position().byte();
        match rdr.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                record += 1;
                // The read-ahead check stops a row long before it is held whole; this
                // one makes the bound exact.
                let start = newlines.borrow().start;
                if rdr.position().byte() - start > MAX_RECORD_BYTES as u64 {
                    let why = row_too_long(line_at(start));
                    let loc = Loc {
                        file,
                        record,
                        line: Some(line_at(start)),
                    };
                    each(&loc, Err(format!("cannot read the row: {why}")));
                    return Err(format!("{file}: reading stopped: {why}"));
                }
                let line = row.position().map(|p| line_at(p.byte()));
                let loc = Loc { file, record, line };
                if row.len() != headers.len() {
                    each(
                        &loc,
                        Err(format!(
                            "has {} fields but the header has {}",
                            row.len(),
                            headers.len()
                        )),
                    );
                    continue;
                }
                each(&loc, Ok(Row::Csv(&headers, &row)));
            }
            Err(e) => {
                record += 1;
                let line = e.position().map(|p| line_at(p.byte()));
                let loc = Loc { file, record, line };
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                each(&loc, Err(format!("cannot read the row: {e}")));
                if fatal {
                    return Err(format!("{file}: reading stopped: {e}"));
                }
            }
        }
    }
}

/// Why a CSV read stopped at a row over [`MAX_RECORD_BYTES`].
fn row_too_long(line: usize) -> String {
    format!(
        "the row starting at line {line} is longer than {} MiB, the most one record may be \
         (an unclosed quote?)",
        MAX_RECORD_BYTES >> 20
    )
}

/// Byte offsets of the newlines read ahead of the CSV parser, and how many were passed;
/// where the row being read starts.
#[derive(Default)]
struct Lines {
    ahead: std::collections::VecDeque<u64>,
    passed: usize,
    start: u64,
}

impl Lines {
    /// The 1-based line of a record starting at `byte`: one more than the newlines at or
    /// before it (at it: the `\n` of the previous row's CRLF, which csv puts in this row).
    fn line_at(&mut self, byte: u64) -> usize {
        while self.ahead.front().is_some_and(|&b| b <= byte) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// A reader that notes where each newline is.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    lines: std::rc::Rc<std::cell::RefCell<Lines>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut lines = self.lines.borrow_mut();
        // A row (an unclosed quote, say) may not grow past the bound: the read stops.
        if self.offset.saturating_sub(lines.start) > MAX_RECORD_BYTES as u64 {
            let start = lines.start;
            let line = lines.line_at(start);
            return Err(std::io::Error::other(row_too_long(line)));
        }
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                lines.ahead.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}
