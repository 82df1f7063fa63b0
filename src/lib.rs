pub mod reference;
pub mod scan;
pub mod source;
pub mod yaml;
