//! One module per subcommand; the argument definitions and what they share live in `cli`.

pub mod check;
pub mod explain;
pub mod images;
pub mod releases;
pub mod resolve;
