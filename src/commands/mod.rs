//! One module per subcommand, each a function from a [`Context`] and its plain options to a
//! [`Status`]. Commands never see clap: `cli` parses the arguments, builds the context once and
//! maps what a command returns to the exit code.

pub mod check;
pub mod explain;
pub mod images;
pub mod releases;
pub mod resolve;

use std::cell::OnceCell;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::config::{ConfigErrors, Settings};
use crate::maven::Maven;
use crate::registry::{self, Cache, Credentials, Registry};
use crate::render::{self, Style};
use crate::rules::Severity;
use crate::run::{Keep, Outcome, Stdin};

/// How a command ended when it ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing to report at or above `--fail-on`.
    Clean,
    /// Findings at or above `--fail-on` (or a diff CI should see).
    Findings,
    /// Some input could not be handled; the command said which on stderr.
    Failed,
}

impl Status {
    /// A check's status: file errors first, then findings at or above `fail_on`.
    pub fn of(outcome: &Outcome, fail_on: Severity) -> Status {
        if !outcome.errors.is_empty() {
            Status::Failed
        } else if outcome.findings.iter().any(|f| f.severity() >= fail_on) {
            Status::Findings
        } else {
            Status::Clean
        }
    }
}

/// Why a command stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The arguments contradict each other (shown in clap's words by `cli`).
    #[error("{0}")]
    Usage(String),
    /// The configuration cannot be used; every problem in it.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// An argument names something that cannot be used (an invalid image, no release data).
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// How output looks and how much is said besides findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    pub style: Style,
    pub verbose: bool,
}

impl Output {
    pub fn quiet(&self) -> bool {
        self.style.quiet
    }
}

/// How the registry and Maven may be asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access {
    /// No network: cached answers only.
    pub offline: bool,
    /// Ignore cached answers (and replace them).
    pub refresh: bool,
}

/// What every command shares, built once by `cli`: the settings, the output style, and the
/// registry and Maven clients and async runtime, made on first use.
pub struct Context {
    pub settings: Settings,
    pub output: Output,
    pub access: Access,
    registry: OnceCell<Registry>,
    maven: OnceCell<Maven>,
    runtime: OnceCell<tokio::runtime::Runtime>,
}

impl Context {
    pub fn new(settings: Settings, output: Output, access: Access) -> Context {
        Context {
            settings,
            output,
            access,
            registry: OnceCell::new(),
            maven: OnceCell::new(),
            runtime: OnceCell::new(),
        }
    }

    fn cache(&self) -> Option<Cache> {
        Cache::default_dir().map(|dir| Cache::new(dir, self.settings.cache_ttl))
    }

    /// The registry client, with the user's cache and credentials.
    pub fn registry(&self) -> Result<&Registry> {
        if let Some(registry) = self.registry.get() {
            return Ok(registry);
        }
        let options = registry::Options {
            network: self.settings.network.clone(),
            cache: self.cache(),
            offline: self.access.offline,
            refresh: self.access.refresh,
        };
        let registry = Registry::new(options, Credentials::from_environment())
            .map_err(|e| Error::Input(e.to_string()))?;
        Ok(self.registry.get_or_init(|| registry))
    }

    /// The Maven client: the registry's network settings and cache.
    pub fn maven(&self) -> Result<&Maven> {
        if let Some(maven) = self.maven.get() {
            return Ok(maven);
        }
        let maven = Maven::new(
            &self.settings.maven,
            self.settings.network.clone(),
            self.cache(),
            self.access.offline,
            self.access.refresh,
        )
        .map_err(|e| Error::Input(e.to_string()))?;
        Ok(self.maven.get_or_init(|| maven))
    }

    pub fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        // Offline, answers come from the cache only: no worker threads to start.
        let mut builder = if self.access.offline {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        };
        let runtime = builder.enable_all().build()?;
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// Notes from the registry client, and with `--verbose` how many requests it sent; nothing
    /// with `--quiet`.
    pub fn registry_notes(&self, err: &mut dyn Write) -> io::Result<()> {
        let Some(registry) = self.registry.get().filter(|_| !self.output.quiet()) else {
            return Ok(());
        };
        render::write_notes(&registry.take_notes(), err)?;
        if self.output.verbose {
            writeln!(err, "note: {} registry requests", registry.requests())?;
        }
        Ok(())
    }

    /// The same for the Maven client.
    pub fn maven_notes(&self, err: &mut dyn Write) -> io::Result<()> {
        let Some(maven) = self.maven.get().filter(|_| !self.output.quiet()) else {
            return Ok(());
        };
        render::write_notes(&maven.take_notes(), err)?;
        if self.output.verbose {
            writeln!(err, "note: {} Maven requests", maven.requests())?;
        }
        Ok(())
    }

    /// Run over the inputs and print the notes `--verbose` asks for (and, unless `--quiet`,
    /// those about files named on the command line).
    pub fn scan(&self, inputs: &Inputs, keep: Keep) -> io::Result<Outcome> {
        let stdin = Stdin {
            name: inputs.stdin_filename.clone(),
        };
        let outcome = crate::run::run_with_stdin(&inputs.paths, &stdin, &self.settings, keep);
        let mut err = io::stderr().lock();
        let notes = outcome.notes.iter().filter(|_| self.output.verbose);
        let notices = outcome.notices.iter().filter(|_| !self.output.quiet());
        render::write_notes(notices.chain(notes), &mut err)?;
        Ok(outcome)
    }
}

/// The files a command reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    /// The name stdin (`-`) is shown under.
    pub stdin_filename: Option<PathBuf>,
}

/// Standard output, buffered: findings are written in many small pieces.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}
