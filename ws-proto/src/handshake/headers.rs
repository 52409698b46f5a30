//! Header fields kept as one text: `name: value\r\n` per field, in order, with where each
//! name and value starts and ends. A request or response holds one allocation for all its
//! headers instead of two per header, and a response writes them out as they are.

/// The header fields of a request or response, in order, repeats kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HeaderList {
    /// `name: value\r\n` for every field.
    text: String,
    /// Per field: where its name starts, where its value starts and ends in `text` (the
    /// name ends two bytes before its value, at the `: `).
    spans: Vec<(usize, usize, usize)>,
}

impl HeaderList {
    /// Room for `fields` fields of `bytes` bytes of names and values in all.
    pub(crate) fn with_capacity(fields: usize, bytes: usize) -> HeaderList {
        HeaderList { text: String::with_capacity(bytes + 4 * fields), spans: Vec::with_capacity(fields) }
    }

    /// Appends a field as given. The caller has checked that `name` is a token and `value`
    /// holds no line break.
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        if self.text.capacity() == 0 {
            // A response's few headers (a 101 has three to five): one allocation.
            self.text.reserve(FIRST_RESERVE);
            self.spans.reserve(4);
        }
        let start = self.text.len();
        self.text.push_str(name);
        self.push_value(start, value);
    }

    /// Appends a field with its name lower-cased.
    pub(crate) fn push_lowercase(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.push(name, value);
        if let Some(name) = self.text.get_mut(start..start + name.len()) {
            name.make_ascii_lowercase();
        }
    }

    fn push_value(&mut self, start: usize, value: &str) {
        self.text.push_str(": ");
        let value_start = self.text.len();
        self.text.push_str(value);
        self.spans.push((start, value_start, self.text.len()));
        self.text.push_str("\r\n");
    }

    /// Every field as (name, value), in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans.iter().map(|&(start, value_start, end)| {
            let name = self.text.get(start..value_start.saturating_sub(2)).unwrap_or_default();
            (name, self.text.get(value_start..end).unwrap_or_default())
        })
    }

    /// Every value of the fields named `name` (ASCII case-insensitive), in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.spans.iter().filter(|span| self.is_named(span, name)).map(|span| self.value(span))
    }

    /// The first value of the fields named `name`, if any.
    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.spans.iter().find(|span| self.is_named(span, name)).map(|span| self.value(span))
    }

    /// Whether the field at `span` is named `name`, compared as bytes (no `&str` made for
    /// the fields passed over).
    fn is_named(&self, &(start, value_start, _): &(usize, usize, usize), name: &str) -> bool {
        value_start.checked_sub(start + 2) == Some(name.len())
            && self
                .text
                .as_bytes()
                .get(start..start + name.len())
                .is_some_and(|n| same_ignoring_case(n, name.as_bytes()))
    }

    fn value(&self, &(_, value_start, end): &(usize, usize, usize)) -> &str {
        self.text.get(value_start..end).unwrap_or_default()
    }

    /// Keeps only the fields for which `keep` holds.
    pub(crate) fn retain(&mut self, keep: impl Fn(&str, &str) -> bool) {
        let mut kept = HeaderList::with_capacity(self.spans.len(), self.text.len());
        for (name, value) in self.iter().filter(|(n, v)| keep(n, v)) {
            kept.push(name, value);
        }
        *self = kept;
    }

    /// The fields as they go on the wire: `name: value\r\n` each.
    pub(crate) fn lines(&self) -> &str {
        &self.text
    }
}

/// Whether `a` and `b` are equal, ASCII case-insensitively: compared as they are first (a
/// request's names are stored lower-case and looked up so, and tokens mostly come in the
/// case the RFC writes them), which compares whole words at a time.
pub(crate) fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

/// The text reserved by the first field of a list made without a size: room for a 101's
/// headers.
const FIRST_RESERVE: usize = 192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_repeats_and_lines() {
        let mut list = HeaderList::default();
        list.push("Set-Cookie", "a=1");
        list.push_lowercase("X-Tag", "");
        list.push("set-cookie", "b=2");
        assert_eq!(list.iter().collect::<Vec<_>>(), [("Set-Cookie", "a=1"), ("x-tag", ""), ("set-cookie", "b=2")]);
        assert_eq!(list.all("SET-COOKIE").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(list.first("x-TAG"), Some(""));
        assert_eq!(list.first("none"), None);
        assert_eq!(list.lines(), "Set-Cookie: a=1\r\nx-tag: \r\nset-cookie: b=2\r\n");
        list.retain(|name, _| !name.eq_ignore_ascii_case("set-cookie"));
        assert_eq!((list.iter().count(), list.lines()), (1, "x-tag: \r\n"));
    }

    #[test]
    fn a_value_that_looks_like_a_separator_stays_a_value() {
        let mut list = HeaderList::default();
        list.push("A", ": b: c");
        assert_eq!(list.iter().collect::<Vec<_>>(), [("A", ": b: c")]);
    }
}
