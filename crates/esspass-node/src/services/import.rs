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

/// A rejected row: its number (1 = the first data row) and every problem found in it.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub row: usize,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub rejected: usize,
    pub errors: Vec<RowError>,
    /// The ids given to the imported persons, by row (not part of the JSON report).
    #[serde(skip)]
    pub created: Vec<(usize, String)>,
}

/// A row as read: its fields, or why it could not even be read.
pub type RawRow = Result<Map<String, Value>, Vec<Problem>>;

/// Read every row of a file's content. Reading never fails as a whole once the text is there:
/// unreadable rows come back as errors of their own.
pub fn read_rows(reader: impl std::io::Read, format: Format) -> Result<Vec<RawRow>, String> {
    match format {
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(reader);
            let headers = r.headers().map_err(|e| format!("CSV header: {e}"))?.clone();
            Ok(r.records()
                .map(|rec| match rec {
                    Ok(rec) => Ok(headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_owned(), Value::String(v.to_owned()))).collect()),
                    Err(e) => Err(vec![Problem::new("$", ErrorCode::InvalidJson, format!("unreadable CSV row: {e}"))]),
                })
                .collect())
        }
        Format::Json => {
            let v: Value = serde_json::from_reader(reader).map_err(|e| format!("JSON: {e}"))?;
            let Value::Array(items) = v else { return Err("JSON import files hold an array of objects".into()) };
            Ok(items.into_iter().map(object_row).collect())
        }
        Format::JsonLines => Ok(std::io::BufReader::new(reader)
            .lines()
            .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
            .map(|l| match l {
                Ok(line) => serde_json::from_str::<Value>(&line)
                    .map_err(|e| vec![Problem::new("$", ErrorCode::InvalidJson, format!("not JSON: {e}"))])
                    .and_then(object_row),
                Err(e) => Err(vec![Problem::new("$", ErrorCode::InvalidJson, format!("unreadable line: {e}"))]),
            })
            .collect()),
    }
}

fn object_row(v: Value) -> RawRow {
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
    for (i, raw) in rows.into_iter().enumerate() {
        let row = i + 1;
        match raw.and_then(|m| PersonRecord::from_fields(&m).map_err(|p| p.0)) {
            Ok(rec) => {
                batch.push((row, to_rows(&rec, now)));
            }
            Err(problems) => {
                report.errors.push(RowError { row, problems });
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
                    Err(StoreError::Duplicate(what)) => report.errors.push(RowError {
                        row: *row,
                        problems: vec![Problem::new("$.personal_number", ErrorCode::DuplicateRecord, format!("a person with this personal number is already recorded ({what})"))],
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
        assert!(rows[0].is_ok());
        assert!(rows[1].is_err(), "a short row is an error of its own");
        let jsonl = "{\"a\": 1}\nnot json\n\n[1]\n";
        let rows = read_rows(jsonl.as_bytes(), Format::JsonLines).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].is_ok() && rows[1].is_err() && rows[2].is_err());
    }
}
