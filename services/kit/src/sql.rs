//! Dynamic SQL for the lists and statistics whose filters vary: the text is
//! built only from fixed fragments and placeholders, and every value is
//! bound (sqlx 0.9 accepts such text through `AssertSqlSafe`). Also the
//! small helpers every store uses: `IN (…)` placeholders, multi-row
//! `VALUES` tuples and 0/1 flags.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use crate::error::Error;

/// `$start, $start+1, …` for `count` values of an `IN (…)` list.
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($s, $s+1, …), (…)` for `rows` tuples of `width` values each, with
/// `fixed` appended as literal SQL inside every tuple (`", 0"`).
pub fn tuples(start: usize, rows: usize, width: usize, fixed: &str) -> String {
    (0..rows)
        .map(|r| format!("({}{fixed})", placeholders(start + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 0/1 for the flags stored as integers (portable: no BOOLEAN).
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A stored spelling this build does not know: the data is damaged.
pub fn corrupt(what: &str, value: impl std::fmt::Debug) -> Error {
    Error::Internal(anyhow::anyhow!("stored {what} {value:?} is not known"))
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
}

/// A query whose text is assembled from fixed fragments while each value is
/// bound in order: `text`/`int` bind a value and return its placeholder.
///
/// ```ignore
/// let mut q = Sql::new("SELECT id FROM plan WHERE 1 = 1");
/// if let Some(d) = department {
///     let p = q.text(d);
///     q.push(&format!(" AND department_id = {p}"));
/// }
/// let rows = q.fetch_all(conn).await?;
/// ```
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    /// Appends a fixed fragment.
    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Binds a text value and returns its placeholder.
    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.values.push(Value::Text(value.into()));
        format!("${}", self.values.len())
    }

    /// Binds an integer value and returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.values.push(Value::Int(value));
        format!("${}", self.values.len())
    }

    /// `column IN (…)` over `values`, each bound; never true when there are
    /// none.
    pub fn in_list<S: Into<String>>(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = S>,
    ) -> String {
        let ps: Vec<String> = values.into_iter().map(|v| self.text(v)).collect();
        if ps.is_empty() {
            "1 = 0".to_string()
        } else {
            format!("{column} IN ({})", ps.join(", "))
        }
    }

    /// The text built so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The query with every value bound, to run as the caller needs.
    pub fn query(self) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for v in self.values {
            q = match v {
                Value::Text(s) => q.bind(s),
                Value::Int(n) => q.bind(n),
            };
        }
        q
    }

    pub async fn fetch_all(self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, Error> {
        Ok(self.query().fetch_all(conn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_tuples_and_flags() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(tuples(1, 2, 2, ", 0"), "($1, $2, 0), ($3, $4, 0)");
        assert_eq!((flag(true), flag(false)), (1, 0));
    }

    #[test]
    fn values_are_numbered_in_the_order_they_are_bound() {
        let mut q = Sql::new("SELECT id FROM t WHERE 1 = 1");
        let d = q.text("信息中心");
        q.push(&format!(" AND department_id = {d}"));
        let list = q.in_list("status", ["open", "closed"]);
        q.push(&format!(" AND {list}"));
        let none = q.in_list("owner_id", Vec::<String>::new());
        let limit = q.int(10);
        q.push(&format!(" AND {none} LIMIT {limit}"));
        assert_eq!(
            q.as_str(),
            "SELECT id FROM t WHERE 1 = 1 AND department_id = $1 \
             AND status IN ($2, $3) AND 1 = 0 LIMIT $4"
        );
        assert_eq!(
            q.values,
            [
                Value::Text("信息中心".into()),
                Value::Text("open".into()),
                Value::Text("closed".into()),
                Value::Int(10)
            ]
        );
    }

    #[tokio::test]
    async fn binds_run_on_sqlite() {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        let mut q = Sql::new("SELECT ");
        let a = q.text("张三");
        let b = q.int(7);
        q.push(&format!("{a}, {b}"));
        let rows = q.fetch_all(&mut conn).await.unwrap();
        let (name, n): (String, i64) = (rows[0].try_get(0).unwrap(), rows[0].try_get(1).unwrap());
        assert_eq!((name.as_str(), n), ("张三", 7));
    }
}
