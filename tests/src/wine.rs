//! Running rk's Windows `.exe` files under Wine: a Wine prefix of the tests' own (with the one
//! DLL Wine 8.0 lacks, see `tests/wine/bcryptprimitives.c`), Windows-form paths, and the
//! profile folder (`%USERPROFILE%`) that Wine sets from its registry, whatever the environment
//! says.
//!
//! The .exe files come from `cargo xtask windows test`, which builds them and passes their
//! folder in `RK_WINDOWS_BIN` (and the release .zip in `RK_WINDOWS_ZIP`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::{ChildGuard, OutputExt, run, wait_bounded, workspace_root};

const WINE: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";

/// A Wine prefix ready to run Rust .exe files.
pub struct Wine {
    pub prefix: PathBuf,
    pub bin: PathBuf,
    /// The X display of a desktop session (Wine's services and programs talk to it), if any.
    pub display: Option<String>,
}

/// The tests' Wine prefix (made on first use, reused by later runs) and the .exe folder.
pub fn wine() -> &'static Wine {
    static WINE_PREFIX: OnceLock<Wine> = OnceLock::new();
    WINE_PREFIX.get_or_init(|| {
        let bin = std::env::var_os("RK_WINDOWS_BIN").map(PathBuf::from).expect(
            "RK_WINDOWS_BIN is not set: the Windows suite runs through `cargo xtask windows test` \
             (or `cargo xtask test`), which builds the .exe files first",
        );
        assert!(
            bin.join("rk-keygen.exe").exists(),
            "{} has no rk-keygen.exe: run cargo xtask windows test",
            bin.display()
        );
        let prefix = workspace_root().join("target").join("wine-prefix");
        Wine::prepare(prefix.clone(), bin)
    })
}

impl Wine {
    /// A prefix at `prefix` (created if it is not there yet) with the ProcessPrng stand-in.
    pub fn prepare(prefix: PathBuf, bin: PathBuf) -> Wine {
        assert!(
            Path::new(WINE).exists(),
            "{WINE} is missing: apt-get install -y --no-install-recommends wine64"
        );
        let wine = Wine {
            prefix,
            bin,
            display: None,
        };
        if !wine.prefix.join("system.reg").exists() {
            std::fs::create_dir_all(&wine.prefix).unwrap();
            let mut boot = wine.command_for(Path::new("wineboot"));
            boot.arg("-i");
            let out = crate::run_with_input(&mut boot, b"", Duration::from_secs(180));
            assert!(
                wine.prefix.join("system.reg").exists(),
                "wineboot did not make a prefix: {}",
                out.stderr_str()
            );
        }
        let dll = wine
            .prefix
            .join("drive_c/windows/system32/bcryptprimitives.dll");
        if !dll.exists() {
            let src = workspace_root().join("tests/wine");
            let out = run(Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(&dll)
                .arg(src.join("bcryptprimitives.c"))
                .arg(src.join("bcryptprimitives.def"))
                .arg("-ladvapi32"));
            out.assert_ok("building the ProcessPrng stand-in with MinGW");
        }
        wine
    }

    /// Makes sure this prefix's wineserver runs, started here with no pipes of a test: the
    /// server (and the services.exe, explorer.exe, … it starts) lives on a few seconds after
    /// the program that started it, and if it held that program's stdout the test would wait
    /// for it (2.5 s for every run). It stays up while runs keep coming and exits 30 s after
    /// the last one (`cargo xtask windows test` also stops it when the suite ends).
    fn ensure_server(&self) {
        let quiet = || Stdio::null();
        let _ = Command::new(WINESERVER)
            .arg("-p30")
            .env("WINEPREFIX", &self.prefix)
            .stdin(quiet())
            .stdout(quiet())
            .stderr(quiet())
            .status();
        static BOOTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
        let mut booted = BOOTED.lock().unwrap_or_else(|e| e.into_inner());
        if !booted.contains(&self.prefix) {
            // Wine's own services, started now with no pipes of ours either.
            let mut boot = self.command_for(Path::new("wineboot"));
            boot.stdin(quiet()).stdout(quiet()).stderr(quiet());
            let _ = boot.status();
            booted.push(self.prefix.clone());
        }
    }

    /// `wine64 PROGRAM` in this prefix, with Wine's own chatter off and no HOME (as on Windows).
    pub fn command_for(&self, program: &Path) -> Command {
        if program != Path::new("wineboot") {
            self.ensure_server();
        }
        let mut cmd = Command::new(WINE);
        cmd.arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono/Gecko installers: nothing here needs .NET or a browser engine.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("HOME")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("SSH_ASKPASS")
            .env_remove("SSH_ASKPASS_REQUIRE")
            .env_remove("WAYLAND_DISPLAY")
            .env("NO_COLOR", "1");
        match &self.display {
            Some(display) => cmd.env("DISPLAY", display),
            None => cmd.env_remove("DISPLAY"),
        };
        cmd
    }

    /// An rk tool (`rk-keygen` → `rk-keygen.exe`), or a file in the build folder.
    pub fn exe(&self, name: &str) -> Command {
        let file = if name.contains('/') || name.ends_with(".exe") {
            self.bin.join(name)
        } else {
            self.bin.join(format!("{name}.exe"))
        };
        self.command_for(&file)
    }

    /// The Windows user's profile folder as a Linux path (`%USERPROFILE%` is set by Wine from
    /// its registry: `C:\users\USER`).
    pub fn profile(&self) -> PathBuf {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        self.prefix.join("drive_c/users").join(user)
    }

    /// `%USERPROFILE%` as Windows programs see it.
    pub fn profile_windows(&self) -> String {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        format!("C:\\users\\{user}")
    }

    /// Stops every process of this prefix (the wineserver and what it serves).
    pub fn kill_server(&self) {
        let _ = Command::new(WINESERVER)
            .arg("-k")
            .env("WINEPREFIX", &self.prefix)
            .stderr(Stdio::null())
            .status();
    }
}

/// The profile folder is one per prefix and every test shares the prefix, so tests that use
/// the default places (`%USERPROFILE%\.ssh`, `%LOCALAPPDATA%\rk`) take turns, each starting
/// from an empty `.ssh` and `rk` state.
pub fn default_places() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let profile = wine().profile();
    let _ = std::fs::remove_dir_all(profile.join(".ssh"));
    let _ = std::fs::remove_dir_all(profile.join("AppData/Local/rk"));
    guard
}

/// A Linux path as a Windows program names it (`/tmp/x` → `Z:\tmp\x`: Wine maps Z: to /).
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// A scratch folder, with commands for the .exe files that run in it.
pub struct WinSandbox {
    pub dir: tempfile::TempDir,
}

impl WinSandbox {
    pub fn new() -> Self {
        WinSandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// A file in the sandbox as a Windows path.
    pub fn win(&self, name: &str) -> String {
        windows_path(&self.path().join(name))
    }
    /// An rk .exe run in the sandbox folder.
    pub fn rk(&self, name: &str) -> Command {
        let mut cmd = wine().exe(name);
        cmd.current_dir(self.path());
        cmd
    }
}

impl Default for WinSandbox {
    fn default() -> Self {
        Self::new()
    }
}

/// A Wine desktop session on an X display: its own prefix (so that stopping it stops nothing
/// of the other tests), a persistent wineserver and Wine's explorer.exe, as a Windows desktop
/// has; Wine bridges the Windows clipboard to the display's X11 CLIPBOARD only while it runs.
/// Stopped (every process of its prefix) on drop.
pub struct WineDesktop {
    pub wine: Wine,
    _explorer: ChildGuard,
}

impl WineDesktop {
    pub fn start(display: &str) -> WineDesktop {
        let shared = wine();
        let prefix = workspace_root().join("target").join("wine-prefix-desktop");
        let mut wine = Wine::prepare(prefix, shared.bin.clone());
        wine.kill_server();
        wine.display = Some(display.to_string());
        let mut server = Command::new(WINESERVER);
        server
            .arg("-p")
            .env("WINEPREFIX", &wine.prefix)
            .env("WINEDEBUG", "-all");
        let mut server = ChildGuard::spawn(&mut server).expect("wineserver -p");
        // wineserver -p forks into the background; the foreground one exits at once.
        let _ = wait_bounded(&mut server, Duration::from_secs(30));
        let mut explorer = wine.command_for(Path::new("explorer.exe"));
        explorer
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let explorer = ChildGuard::spawn(&mut explorer).expect("start Wine's explorer.exe");
        // Give the desktop time to come up (it opens the X connection the clipboard uses).
        std::thread::sleep(Duration::from_secs(2));
        WineDesktop {
            wine,
            _explorer: explorer,
        }
    }
}

impl Drop for WineDesktop {
    fn drop(&mut self) {
        self.wine.kill_server();
    }
}
