//! A real browser for the tests: Debian's headless Chromium (`scripts/install-browser` installs
//! it) opens a page from a file and answers with its DOM once its scripts ran, or a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where test artifacts are kept (screenshots): not committed.
pub fn artifacts() -> PathBuf {
    let dir = crate::workspace().join(".local/test-artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder can be made");
    dir
}

/// The Chromium to run: `FABRIC_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("FABRIC_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "no Chromium at {}: install it with scripts/install-browser (Debian's chromium package), or set FABRIC_CHROMIUM",
        path.display()
    );
    path
}

/// Runs headless Chromium on `page` with `arguments`, in a profile of its own; its output.
fn headless(page: &Path, arguments: &[String]) -> String {
    static PROFILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let profile = std::env::temp_dir().join(format!(
        "fabric-chromium-{}-{}",
        std::process::id(),
        PROFILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let page = page.canonicalize().expect("the page exists");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium starts");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "Chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("Chromium prints UTF-8")
}

/// The DOM of `page` after its scripts ran, as HTML.
pub fn rendered_dom(page: &Path) -> String {
    headless(page, &["--dump-dom".to_owned()])
}

/// A `width` x `height` screenshot of `page`, saved as PNG at `png`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    headless(
        page,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
        ],
    );
    assert!(png.exists(), "Chromium saved {}", png.display());
}
