//! Loading insured persons and their coverage from CSV, JSON (an array of objects) or JSON Lines.
//! A bad row never stops the import or leaves anything half-written: each row is validated on its
//! own, rows are written in batches inside transactions, and a batch that fails on a duplicate is
//! written again row by row so that only the offending rows are rejected. Every batch leaves an
//! audit record naming the persons it created.

use esspass_core::person::PersonRecord;
use esspass_core::{ErrorCode, Problem};
use esspass_store::{CoverageRow, EmploymentRow, Person, Store, StoreError};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::io::BufRead;

/// Rows written per transaction.
pub const BATCH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    JsonLines,
}

impl Format {
    /// From a file name's extension.
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else if lower.ends_with(".json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

/// A rejected row: where it is in the file (its line in CSV and JSON Lines, its element number in a
/// JSON array), the personal number it names, and every problem found in it.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_number: Option<String>,
    pub problems: Vec<Problem>,
}

/// A person the import created: where in the file, and the id the node gave it.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedPerson {
    pub row: usize,
    pub personal_number: String,
    pub person_id: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub rejected: usize,
    pub errors: Vec<RowError>,
    /// The persons created, with their ids (for the caller's records).
    pub persons: Vec<CreatedPerson>,
    /// The ids given to the imported persons, by row (not part of the JSON report; see `persons`).
    #[serde(skip)]
    pub created: Vec<(usize, String)>,
}

/// A row as read: where it is (line or element number) and its fields, or why it could not even
/// be read.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub row: usize,
    pub fields: Result<Map<String, Value>, Vec<Problem>>,
}

/// Fields a CSV header must have.
const REQUIRED: &[&str] = &["personal_number", "family_name", "given_name", "birth_date"];

/// A CSV header is checked before any row: unknown or missing columns, or a separator other than
/// the comma, are one clear error.
fn check_header(headers: &csv::StringRecord) -> Result<(), String> {
    if headers.len() == 1 {
        let h = headers.get(0).unwrap_or_default();
        for (sep, name) in [(';', "semicolons"), ('\t', "tabs"), ('|', "bars")] {
            if h.contains(sep) {
                return Err(format!("the header is separated by {name}: the CSV separator is the comma (,)"));
            }
        }
    }
    let unknown: Vec<&str> = headers.iter().filter(|h| !esspass_core::person::FIELDS.contains(h)).collect();
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|r| !headers.iter().any(|h| h == *r)).collect();
    if unknown.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing column(s) {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        parts.push(format!("unknown column(s) {}", unknown.join(", ")));
    }
    Err(format!("the header has {}; the columns are {}", parts.join(" and "), esspass_core::person::FIELDS.join(",")))
}

/// Read every row of a file's content. Reading never fails as a whole once the text is there:
/// unreadable rows come back as errors of their own.
pub fn read_rows(reader: impl std::io::Read, format: Format) -> Result<Vec<RawRow>, String> {
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(reader);
            let headers = r.headers().map_err(|e| format!("CSV header: {e}"))?.clone();
            check_header(&headers)?;
            Ok(r.records()
                .enumerate()
                .map(|(i, rec)| match rec {
                    Ok(rec) => RawRow { row: rec.position().map_or(i + 2, |p| usize::try_from(p.line()).unwrap_or(i + 2)), fields: Ok(headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_owned(), Value::String(v.to_owned()))).collect()) },
                    Err(e) => RawRow {
                        row: e.position().map_or(i + 2, |p| usize::try_from(p.line()).unwrap_or(i + 2)),
                        fields: Err(vec![Problem::new("$", ErrorCode::InvalidJson, format!("unreadable CSV row: {}", csv_error_text(&e)))]),
                    },
                })
                .collect())
        }
        Format::Json => {
            let v: Value = serde_json::from_reader(reader).map_err(|e| format!("JSON: {e}"))?;
            let Value::Array(items) = v else { return Err("JSON import files hold an array of objects".into()) };
            Ok(items.into_iter().enumerate().map(|(i, v)| RawRow { row: i + 1, fields: object_row(v) }).collect())
        }
        Format::JsonLines => Ok(std::io::BufReader::new(reader)
            .lines()
            .enumerate()
            .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
            .map(|(i, l)| RawRow {
                row: i + 1,
                fields: match l {
                    Ok(line) => serde_json::from_str::<Value>(&line).map_err(|e| vec![Problem::new("$", ErrorCode::InvalidJson, format!("not JSON: {e}"))]).and_then(object_row),
                    Err(e) => Err(vec![Problem::new("$", ErrorCode::InvalidJson, format!("unreadable line: {e}"))]),
                },
            })
            .collect()),
    }
}

/// A CSV error without the crate's debug text.
fn csv_error_text(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => "the row cannot be read as CSV".into(),
    }
}

/// The report of an import in which no row was importable (nothing is written).
pub fn rejected_only(rows: Vec<RawRow>) -> ImportReport {
    let mut report = ImportReport { rows: rows.len(), ..ImportReport::default() };
    for raw in rows {
        let personal_number = raw.fields.as_ref().ok().and_then(|m| m.get("personal_number")).and_then(Value::as_str).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if let Err(problems) = raw.fields.and_then(|m| PersonRecord::from_fields(&m).map(|_| ()).map_err(|p| p.0)) {
            report.errors.push(RowError { row: raw.row, personal_number, problems });
        }
    }
    report.rejected = report.errors.len();
    report
}

/// How many rows would be imported as far as their own content goes (before duplicates).
pub fn valid_rows(rows: &[RawRow]) -> usize {
    rows.iter().filter(|r| r.fields.as_ref().is_ok_and(|m| PersonRecord::from_fields(m).is_ok())).count()
}

fn object_row(v: Value) -> Result<Map<String, Value>, Vec<Problem>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(vec![Problem::new("$", ErrorCode::NotAnObject, "each row is a JSON object")]),
    }
}

type Rows = (Person, Vec<CoverageRow>, Vec<EmploymentRow>);

fn to_rows(record: &PersonRecord, now: i64) -> Rows {
    let person_id = format!("P-{}", esspass_credential::vc::uuid_v4());
    let coverage = record
        .coverage
        .iter()
        .map(|c| CoverageRow {
            coverage_id: format!("C-{}", esspass_credential::vc::uuid_v4()),
            person_id: person_id.clone(),
            kind: serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            start_date: c.start.to_string(),
            end_date: c.end.map(|d| d.to_string()),
            created_at: now,
        })
        .collect();
    let person = Person {
        person_id,
        personal_number: record.personal_number.clone(),
        family_name: record.family_name.clone(),
        given_name: record.given_name.clone(),
        birth_date: record.birth_date.to_string(),
        nationality: record.nationality.map(|c| c.iso().to_owned()),
        residence: record.residence.map(|c| c.iso().to_owned()),
        birth_country: record.birth_country.map(|c| c.iso().to_owned()),
        birth_place: record.birth_place.clone(),
        created_at: now,
    };
    let employments = record
        .employment
        .iter()
        .map(|e| EmploymentRow {
            employment_id: format!("E-{}", esspass_credential::vc::uuid_v4()),
            employer_id: e.employer_id.clone(),
            person_id: person.person_id.clone(),
            start_date: e.start.to_string(),
            end_date: e.end.map(|d| d.to_string()),
            created_at: now,
        })
        .collect();
    (person, coverage, employments)
}

/// Import the rows. `progress` is called with the number of rows handled so far. A database that
/// fails for another reason than a duplicate stops the import with that error; what was written
/// before stays written and audited.
pub async fn import_persons(store: &Store, rows: Vec<RawRow>, actor: &str, now: i64, mut progress: impl FnMut(usize)) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport { rows: rows.len(), ..ImportReport::default() };
    let mut batch: Vec<(usize, Rows)> = Vec::with_capacity(BATCH);
    let mut handled = 0;
    for raw in rows {
        let row = raw.row;
        let personal_number = raw.fields.as_ref().ok().and_then(|m| m.get("personal_number")).and_then(Value::as_str).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        match raw.fields.and_then(|m| PersonRecord::from_fields(&m).map_err(|p| p.0)) {
            Ok(rec) => {
                batch.push((row, to_rows(&rec, now)));
            }
            Err(problems) => {
                report.errors.push(RowError { row, personal_number, problems });
                handled += 1;
            }
        }
        if batch.len() >= BATCH {
            handled += batch.len();
            write_batch(store, std::mem::take(&mut batch), actor, now, &mut report).await?;
            progress(handled);
        }
    }
    handled += batch.len();
    write_batch(store, batch, actor, now, &mut report).await?;
    progress(handled);
    report.rejected = report.errors.len();
    report.errors.sort_by_key(|e| e.row);
    Ok(report)
}

async fn write_batch(store: &Store, batch: Vec<(usize, Rows)>, actor: &str, now: i64, report: &mut ImportReport) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let rows: Vec<Rows> = batch.iter().map(|(_, r)| r.clone()).collect();
    let written: Vec<(usize, String)> = match store.insert_persons_full(&rows).await {
        Ok(()) => batch.iter().map(|(row, r)| (*row, r.0.person_id.clone())).collect(),
        Err(StoreError::Duplicate(_)) => {
            let mut ok = Vec::new();
            for (row, r) in &batch {
                match store.insert_persons_full(std::slice::from_ref(r)).await {
                    Ok(()) => ok.push((*row, r.0.person_id.clone())),
                    Err(StoreError::Duplicate(_)) => report.errors.push(RowError {
                        row: *row,
                        personal_number: Some(r.0.personal_number.clone()),
                        problems: vec![Problem::new("$.personal_number", ErrorCode::DuplicateRecord, "a person with this personal number is already recorded")],
                    }),
                    Err(e) => return Err(e),
                }
            }
            ok
        }
        Err(e) => return Err(e),
    };
    report.imported += written.len();
    if !written.is_empty() {
        let ids: Vec<&str> = written.iter().map(|(_, id)| id.as_str()).collect();
        store.append_audit(now, actor, "import_persons", "persons", "authentic-source load", &json!({"created": ids})).await?;
    }
    for (row, id) in &written {
        if let Some((_, r)) = batch.iter().find(|(n, r)| n == row && &r.0.person_id == id) {
            report.persons.push(CreatedPerson { row: *row, personal_number: r.0.personal_number.clone(), person_id: id.clone() });
        }
    }
    report.created.extend(written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_unreadable_rows() {
        let csv = "personal_number,family_name,given_name,birth_date\nSI1,Novak,Živa,1985-04-12\nSI2,Kovač\n";
        let rows = read_rows(csv.as_bytes(), Format::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].fields.is_ok() && rows[0].row == 2, "row numbers are file lines");
        assert!(rows[1].fields.is_err() && rows[1].row == 3, "a short row is an error of its own");
        let jsonl = "{\"a\": 1}\nnot json\n\n[1]\n";
        let rows = read_rows(jsonl.as_bytes(), Format::JsonLines).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].fields.is_ok() && rows[1].fields.is_err() && rows[2].fields.is_err());
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 2, 4], "blank lines keep the numbering");
    }

    #[test]
    fn a_wrong_header_or_separator_is_one_error_before_any_row() {
        let e = read_rows("personal_number;family_name;given_name;birth_date\nSI1;N;Z;1985-04-12\n".as_bytes(), Format::Csv).unwrap_err();
        assert!(e.contains("semicolons"), "{e}");
        let e = read_rows("personal_number,surname,given_name,birth_date\n".as_bytes(), Format::Csv).unwrap_err();
        assert!(e.contains("missing column(s) family_name") && e.contains("unknown column(s) surname"), "{e}");
    }
}
