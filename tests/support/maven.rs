//! A Maven repository as it is: static files served over HTTP from a folder, here on
//! 127.0.0.1 with a random port. Tests publish plugin versions into the folder the way Gradle's
//! `maven-publish` lays them out (`group/path/artifact/maven-metadata.xml`,
//! `…/version/artifact-version.pom` and `.jar`), and the server records every path asked for.
//! With credentials set it answers 401 with a Basic challenge, as Nexus and Artifactory do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use tokio::sync::oneshot;

struct Shared {
    root: PathBuf,
    basic: Option<String>,
    requests: Mutex<Vec<String>>,
}

pub struct MavenRepository {
    /// `http://127.0.0.1:PORT/maven2`
    pub url: String,
    pub root: tempfile::TempDir,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// One published version: its number and the Kestra core its build compiled against.
pub struct Version<'a> {
    pub version: &'a str,
    pub kestra: &'a str,
}

impl MavenRepository {
    /// `basic`: the `Authorization` header value required, if any.
    pub fn start(basic: Option<String>) -> MavenRepository {
        let root = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/maven2", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            root: root.path().to_path_buf(),
            basic,
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(serve).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    served = axum::serve(listener, app).into_future() => served.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        MavenRepository {
            url,
            root,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Paths asked for so far, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Publish `versions` of `group:artifact` (the last one is `<release>`), each with a POM
    /// importing `io.kestra:platform:${kestraVersion}` (none when `kestra` is empty) and a JAR whose manifest carries the
    /// attributes Kestra's plugin template writes.
    pub fn publish(&self, group: &str, artifact: &str, versions: &[Version<'_>]) {
        let dir = self
            .root
            .path()
            .join("maven2")
            .join(group.replace('.', "/"))
            .join(artifact);
        std::fs::create_dir_all(&dir).unwrap();
        let list: String = versions
            .iter()
            .map(|v| format!("      <version>{}</version>\n", v.version))
            .collect();
        let release = versions.last().map_or("", |v| v.version);
        let metadata = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{group}</groupId>\n  <artifactId>{artifact}</artifactId>\n  <versioning>\n    <latest>{release}</latest>\n    <release>{release}</release>\n    <versions>\n{list}    </versions>\n    <lastUpdated>20261101120000</lastUpdated>\n  </versioning>\n</metadata>\n"
        );
        std::fs::write(dir.join("maven-metadata.xml"), metadata).unwrap();
        for v in versions {
            let version_dir = dir.join(v.version);
            let platform = if v.kestra.is_empty() {
                String::new()
            } else {
                "  <dependencyManagement>\n    <dependencies>\n      <dependency>\n        <groupId>io.kestra</groupId>\n        <artifactId>platform</artifactId>\n        <version>${kestraVersion}</version>\n        <type>pom</type>\n        <scope>import</scope>\n      </dependency>\n    </dependencies>\n  </dependencyManagement>\n".to_string()
            };
            std::fs::create_dir_all(&version_dir).unwrap();
            let pom = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>{group}</groupId>\n  <artifactId>{artifact}</artifactId>\n  <version>{version}</version>\n  <properties>\n    <kestraVersion>{kestra}</kestraVersion>\n  </properties>\n{platform}</project>\n",
                version = v.version,
                kestra = v.kestra,
            );
            std::fs::write(
                version_dir.join(format!("{artifact}-{}.pom", v.version)),
                pom,
            )
            .unwrap();
            write_jar(
                &version_dir.join(format!("{artifact}-{}.jar", v.version)),
                group,
                artifact,
                v.version,
            );
        }
    }
}

/// A plugin JAR: `META-INF/MANIFEST.MF` with Kestra's attributes (kestra-io/plugin-template
/// `build.gradle`), built with the zip crate.
fn write_jar(path: &Path, group: &str, artifact: &str, version: &str) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("META-INF/MANIFEST.MF", options).unwrap();
    write!(
        zip,
        "Manifest-Version: 1.0\r\nX-Kestra-Name: {artifact}\r\nX-Kestra-Group: {group}\r\nX-Kestra-Version: {version}\r\n\r\n"
    )
    .unwrap();
    zip.finish().unwrap();
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    shared.requests.lock().unwrap().push(path.clone());
    if let Some(expected) = &shared.basic {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header(header::WWW_AUTHENTICATE, "Basic realm=\"maven\"")
                .body(Body::empty())
                .unwrap();
        }
    }
    let relative = path.trim_start_matches('/');
    let found = (!relative.split('/').any(|p| p == ".."))
        .then(|| std::fs::read(shared.root.join(relative)).ok())
        .flatten();
    match found {
        Some(bytes) => Response::new(Body::from(bytes)),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .unwrap(),
    }
}

impl Drop for MavenRepository {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
