//! Not implemented yet: this crate is a placeholder in the workspace until its issue lands.
