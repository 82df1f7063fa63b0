//! Shared helpers for integration tests (`mod support;`).
#![allow(dead_code)]

pub mod cli;
pub mod maven;
pub mod registry;
