//! What a listing of streams keeps, and its SQL: one copy of the conditions for local and
//! remote streams (their tables differ, so the conditions are a macro over the columns).

/// Which streams a listing returns. Results are newest stream first; `before` is the cursor.
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    pub live_only: bool,
    /// One genre, compared case-insensitively with each of a stream's genres.
    pub genre: Option<String>,
    /// Case-insensitive substring of the name, description or current title.
    pub query: Option<String>,
    /// Content types to keep (a codec's, see `streams::Codec`); empty keeps all.
    pub content_types: Vec<&'static str>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl StreamFilter {
    /// The LIKE pattern matching `genre` as a whole genre of a comma-joined list wrapped in
    /// commas.
    pub(super) fn genre_pattern(&self) -> Option<String> {
        let genre = self.genre.as_ref()?;
        Some(format!("%,{},%", super::escape_like(&genre.to_lowercase())))
    }

    /// The LIKE pattern of the search text.
    pub(super) fn query_pattern(&self) -> Option<String> {
        let q = self.query.as_ref()?;
        Some(format!("%{}%", super::escape_like(&q.to_lowercase())))
    }
}

/// Adds the filter's cursor, genre, content type and text conditions to a boxed query over the
/// columns named (whether it keeps only live streams differs per table and stays with it).
macro_rules! filter_listing {
    (
        $query:ident,
        $filter:expr,
        id: $id:expr,
        genres: $genres:expr,
        content_type: $content_type:expr,
        text: [$name:expr, $description:expr, $title:expr] $(,)?
    ) => {
        if let Some(before) = $filter.before {
            $query = $query.filter($id.lt(before));
        }
        if let Some(pattern) = $filter.genre_pattern() {
            // Genres are stored comma-joined; wrapping both sides in commas matches whole genres.
            let wrapped = $crate::db::models::lower(
                diesel::IntoSql::into_sql::<diesel::sql_types::Text>(",")
                    .concat($genres)
                    .concat(",")
                    .nullable(),
            );
            $query = $query.filter(wrapped.like(pattern).escape('\\'));
        }
        if !$filter.content_types.is_empty() {
            $query = $query.filter($content_type.eq_any($filter.content_types.clone()));
        }
        if let Some(pattern) = $filter.query_pattern() {
            // The title is NULL off air; NULL never matches, the other columns still can.
            $query = $query.filter(
                $crate::db::models::lower($name.nullable())
                    .like(pattern.clone())
                    .escape('\\')
                    .or($crate::db::models::lower($description.nullable())
                        .like(pattern.clone())
                        .escape('\\'))
                    .or($crate::db::models::lower($title.nullable())
                        .like(pattern)
                        .escape('\\')),
            );
        }
    };
}
pub(super) use filter_listing;
