//! `rk-keygen`: a thin command over `rk_core::keys`. Parsing is in [`cli`], the work in
//! [`run`], terminal conversation in [`prompt`]; errors are reported once, in `main`.

pub mod cli;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::{self as rkfs, Protection};
use rk_core::keys::{self, KeyFile, KeySpec, KeyType, ppk};
use rk_core::ssh_key::PrivateKey;
use rk_core::{Error, Result};
use zeroize::Zeroizing;

use cli::{Cli, ExportFormat, Format};
use rk_core::term::{self as prompt, Passphrase};

pub fn run(cli: Cli) -> Result<()> {
    if cli.fingerprint {
        show_fingerprint(&cli)
    } else if cli.print_public {
        print_public(&cli)
    } else if cli.change_passphrase {
        change_passphrase(&cli)
    } else if let Some(format) = cli.export {
        export(&cli, format)
    } else {
        generate(&cli)
    }
}

/// Stdout, for ssh-keygen's informational lines; silent with -q.
struct Out {
    quiet: bool,
}

impl Out {
    fn line(&self, s: impl AsRef<str>) {
        if !self.quiet {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{}", s.as_ref());
        }
    }
}

fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn required_file(cli: &Cli, what: &str) -> Result<PathBuf> {
    match &cli.file {
        Some(f) => Ok(rkfs::expand_tilde(f)),
        None if interactive() => {
            let default = rkfs::ssh_dir()?.join("id_rsa");
            let answer = prompt::line(&format!(
                "Enter file in which the key is ({}): ",
                default.display()
            ))?;
            Ok(if answer.is_empty() {
                default
            } else {
                rkfs::expand_tilde(&answer)
            })
        }
        None => Err(Error::Usage(format!(
            "{what} needs a key file: add -f FILE."
        ))),
    }
}

/// `user@host`, as ssh-keygen writes it.
fn default_comment() -> String {
    use rk_core::platform::paths;
    let user = paths::user_name().unwrap_or_else(|| "user".into());
    match paths::host_name() {
        Some(host) => format!("{user}@{host}"),
        None => user,
    }
}

// ---------------------------------------------------------------------------------------------
// Generating

fn generate(cli: &Cli) -> Result<()> {
    let out = Out { quiet: cli.quiet };
    let kind = KeyType::parse(&cli.key_type)?;
    let spec = KeySpec::new(kind, cli.bits)?;
    let comment = match &cli.comment {
        Some(c) if c.contains(['\n', '\r']) => {
            return Err(Error::Usage(
                "-C: the comment must be a single line.".into(),
            ));
        }
        Some(c) => c.clone(),
        None => default_comment(),
    };
    if cli.rounds == 0 {
        return Err(Error::Usage(
            "-a 0: the KDF needs at least 1 round (default 24).".into(),
        ));
    }

    // Like ssh-keygen, a terminal user is asked for the file after the key is made; when the
    // file is already known, check it first so a refusal costs no key generation.
    let ask_for_file = cli.file.is_none() && interactive();
    let mut place = None;
    if !ask_for_file {
        place = Some(choose_place(cli, kind, &out)?);
    }
    out.line(format!(
        "Generating public/private {} key pair.",
        kind.name()
    ));
    let key = with_spinner(
        !cli.quiet && kind == KeyType::Rsa,
        &format!("generating a {}-bit RSA key…", spec.bits),
        || keys::generate(spec, &comment),
    )?;
    let (targets, replace) = match place {
        Some(p) => p,
        None => choose_place(cli, kind, &out)?,
    };
    let passphrase = new_passphrase(cli)?;
    save_new_key(&key, &targets, passphrase.as_bytes(), cli.rounds, replace)?;

    if let Some(p) = &targets.private {
        out.line(format!(
            "Your identification has been saved in {}",
            p.display()
        ));
    }
    if let Some(p) = &targets.ppk {
        out.line(format!(
            "Your PuTTY private key has been saved in {}",
            p.display()
        ));
    }
    out.line(format!(
        "Your public key has been saved in {}",
        targets.public.display()
    ));
    let public = key.public_key();
    out.line("The key fingerprint is:");
    out.line(format!(
        "{} {}",
        fingerprint::fingerprint(public, FingerprintHash::Sha256),
        public.comment().as_str_lossy()
    ));
    out.line("The key's randomart image is:");
    out.line(fingerprint::randomart(public, FingerprintHash::Sha256));
    Ok(())
}

/// Where the new key goes (-f, the terminal's answer, or the default), whether existing files
/// may be replaced, and `~/.ssh` created if that is where it goes.
fn choose_place(cli: &Cli, kind: KeyType, out: &Out) -> Result<(Targets, bool)> {
    let ssh_dir = rkfs::ssh_dir()?;
    let default_path = ssh_dir.join(kind.default_file_name());
    let path = match &cli.file {
        Some(f) => rkfs::expand_tilde(f),
        None if interactive() => {
            let answer = prompt::line(&format!(
                "Enter file in which to save the key ({}): ",
                default_path.display()
            ))?;
            if answer.is_empty() {
                default_path
            } else {
                rkfs::expand_tilde(&answer)
            }
        }
        None => default_path,
    };
    let targets = Targets::new(&path, cli.format);
    if targets.parent() == ssh_dir && rkfs::ensure_private_dir(&ssh_dir)? {
        out.line(format!("Created directory '{}'.", ssh_dir.display()));
    }
    let replace = confirm_overwrite(&targets, cli.force)?;
    Ok((targets, replace))
}

/// The files one new key becomes.
struct Targets {
    private: Option<PathBuf>,
    public: PathBuf,
    ppk: Option<PathBuf>,
}

impl Targets {
    fn new(path: &Path, format: Format) -> Targets {
        // `-f key.ppk --format ppk` names the .ppk itself; the .pub goes beside it as key.pub.
        let base = match (format, path.extension()) {
            (Format::Ppk, Some(ext)) if ext == "ppk" => path.with_extension(""),
            _ => path.to_path_buf(),
        };
        let ppk = rkfs::with_suffix(&base, ".ppk");
        Targets {
            private: (format != Format::Ppk).then(|| base.clone()),
            public: keys::public_path(&base),
            ppk: (format != Format::Openssh).then_some(ppk),
        }
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.private
            .iter()
            .chain(std::iter::once(&self.public))
            .chain(self.ppk.iter())
    }

    fn parent(&self) -> PathBuf {
        match self.public.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Returns whether existing files may be replaced. Refuses without a terminal unless --force.
fn confirm_overwrite(targets: &Targets, force: bool) -> Result<bool> {
    let Some(existing) = targets.all().find(|p| p.symlink_metadata().is_ok()) else {
        return Ok(false);
    };
    if force {
        return Ok(true);
    }
    if !interactive() {
        return Err(Error::Exists {
            path: existing.clone(),
        });
    }
    println!("{} already exists.", existing.display());
    let answer = prompt::line("Overwrite (y/n)? ")?;
    if answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else {
        Err(Error::Declined {
            path: existing.clone(),
        })
    }
}

fn save_new_key(
    key: &PrivateKey,
    targets: &Targets,
    passphrase: &[u8],
    rounds: u32,
    replace: bool,
) -> Result<()> {
    let public_line = format!("{}\n", keys::public_line(key.public_key())?);
    let openssh = match &targets.private {
        Some(_) if passphrase.is_empty() => Some(keys::to_openssh_private(key)?),
        Some(_) => Some(keys::to_openssh_private(&keys::encrypt(
            key, passphrase, rounds,
        )?)?),
        None => None,
    };
    let ppk_text = match &targets.ppk {
        Some(_) => Some(ppk::to_ppk_v3(
            key,
            Some(passphrase),
            ppk::Argon2Params::default(),
        )?),
        None => None,
    };
    let mut files: Vec<(&Path, &[u8], Protection)> = Vec::new();
    if let (Some(p), Some(text)) = (&targets.private, &openssh) {
        files.push((p, text.as_bytes(), Protection::Private));
    }
    if let (Some(p), Some(text)) = (&targets.ppk, &ppk_text) {
        files.push((p, text.as_bytes(), Protection::Private));
    }
    files.push((&targets.public, public_line.as_bytes(), Protection::Public));
    rkfs::write_files_atomically(&files, replace)
}

fn with_spinner<T>(enabled: bool, message: &str, work: impl FnOnce() -> T) -> T {
    if !enabled || !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(80));
    let result = work();
    bar.finish_and_clear();
    result
}

// ---------------------------------------------------------------------------------------------
// Passphrases

/// The passphrase for a new or re-encrypted key: -N, --passphrase-file, the terminal (asked
/// twice), or none when there is no terminal.
fn new_passphrase(cli: &Cli) -> Result<Passphrase> {
    if let Some(p) = &cli.new_passphrase {
        return Ok(Passphrase::from(p.as_str()));
    }
    if let Some(f) = &cli.passphrase_file {
        return prompt::passphrase_from_file(f);
    }
    if prompt::have_terminal() {
        return prompt::new_passphrase_twice(
            "Enter passphrase (empty for no passphrase): ",
            "Enter same passphrase again: ",
        );
    }
    if !cli.quiet {
        eprintln!(
            "rk-keygen: no terminal to ask for a passphrase: the key is NOT passphrase-protected \
             (use -N or --passphrase-file to set one)."
        );
    }
    Ok(Passphrase::empty())
}

/// Unlocks a key file: -P, --old-passphrase-file, or the terminal (3 tries).
fn unlock(
    cli: &Cli,
    path: &Path,
    file: &KeyFile,
    prompt_text: &str,
) -> Result<(PrivateKey, Passphrase)> {
    let given = match (&cli.old_passphrase, &cli.old_passphrase_file) {
        (Some(p), _) => Some(Passphrase::from(p.as_str())),
        (None, Some(f)) => Some(prompt::passphrase_from_file(f)?),
        (None, None) => None,
    };
    prompt::unlock_key(file, path, given, cli.max_kdf_rounds, Some(prompt_text))
}

// ---------------------------------------------------------------------------------------------
// Inspecting and converting

fn show_fingerprint(cli: &Cli) -> Result<()> {
    let hash = FingerprintHash::parse(&cli.hash)?;
    let path = required_file(cli, "-l")?;
    let public = public_key_for_display(&path)?;
    println!("{}", fingerprint::fingerprint_line(&public, hash));
    if cli.visual {
        println!("{}", fingerprint::randomart(&public, hash));
    }
    Ok(())
}

/// The public key of any key file, with the comment ssh-keygen would show: an encrypted
/// OpenSSH key hides its comment, so the `.pub` beside it supplies one if it matches.
fn public_key_for_display(path: &Path) -> Result<rk_core::ssh_key::PublicKey> {
    let file = keys::read_key_file(path)?;
    let mut public = file.public_key();
    if file.is_private()
        && public.comment().is_empty()
        && let Some(comment) = keys::sibling_comment(path, &public)
    {
        public.set_comment(comment);
    }
    Ok(public)
}

fn print_public(cli: &Cli) -> Result<()> {
    let path = required_file(cli, "-y")?;
    let file = keys::read_key_file(&path)?;
    let public = match &file {
        KeyFile::Public(_) => return Err(Error::PublicKeyOnly { path }),
        // A .ppk keeps its comment in clear: no passphrase needed for the public half.
        KeyFile::Ppk { .. } => file.public_key(),
        _ => {
            let prompt = format!("Enter passphrase for \"{}\": ", path.display());
            unlock(cli, &path, &file, &prompt)?.0.public_key().clone()
        }
    };
    println!("{}", keys::public_line(&public)?);
    Ok(())
}

fn change_passphrase(cli: &Cli) -> Result<()> {
    let out = Out { quiet: cli.quiet };
    let path = required_file(cli, "-p")?;
    let file = keys::read_key_file(&path)?;
    if !file.is_private() {
        return Err(Error::PublicKeyOnly { path });
    }
    let (key, _) = unlock(cli, &path, &file, "Enter old passphrase: ")?;
    if matches!(file, KeyFile::OpenSsh(_)) || matches!(file, KeyFile::Pem(_)) {
        out.line(format!(
            "Key has comment '{}'",
            key.comment().as_str_lossy()
        ));
    }
    let passphrase = if let Some(p) = &cli.new_passphrase {
        Passphrase::from(p.as_str())
    } else if let Some(f) = &cli.passphrase_file {
        prompt::passphrase_from_file(f)?
    } else if prompt::have_terminal() {
        prompt::new_passphrase_twice(
            "Enter new passphrase (empty for no passphrase): ",
            "Enter same passphrase again: ",
        )?
    } else {
        return Err(Error::Usage(
            "-p needs the new passphrase: give -N or --passphrase-file, or run it on a terminal."
                .into(),
        ));
    };
    let text: Zeroizing<String> = match file {
        KeyFile::Ppk { .. } => ppk::to_ppk_v3(
            &key,
            Some(passphrase.as_bytes()),
            ppk::Argon2Params::default(),
        )?,
        _ if passphrase.is_empty() => keys::to_openssh_private(&key)?,
        _ => keys::to_openssh_private(&keys::encrypt(&key, passphrase.as_bytes(), cli.rounds)?)?,
    };
    // Replace atomically: the old file stays byte-identical until the new one is complete.
    rkfs::write_files_atomically(&[(&path, text.as_bytes(), Protection::Private)], true)?;
    out.line("Your identification has been saved with the new passphrase.");
    Ok(())
}

fn export(cli: &Cli, format: ExportFormat) -> Result<()> {
    let out = Out { quiet: cli.quiet };
    let path = required_file(cli, "--export")?;
    let file = keys::read_key_file(&path)?;
    if !file.is_private() {
        return Err(Error::PublicKeyOnly { path });
    }
    let prompt = format!("Enter passphrase for \"{}\": ", path.display());
    let (key, old_passphrase) = unlock(cli, &path, &file, &prompt)?;
    match format {
        ExportFormat::Ppk => {
            // Keep the protection the key had (same passphrase), unless -N/--passphrase-file.
            let passphrase = if cli.new_passphrase.is_some() || cli.passphrase_file.is_some() {
                new_passphrase(cli)?
            } else {
                old_passphrase
            };
            let target = if path.extension().is_some_and(|e| e == "ppk") {
                path.with_extension("export.ppk")
            } else {
                rkfs::with_suffix(&path, ".ppk")
            };
            let targets = Targets {
                private: None,
                public: target.clone(),
                ppk: None,
            };
            let replace = confirm_overwrite(&targets, cli.force)?;
            let text = ppk::to_ppk_v3(
                &key,
                Some(passphrase.as_bytes()),
                ppk::Argon2Params::default(),
            )?;
            rkfs::write_files_atomically(
                &[(&target, text.as_bytes(), Protection::Private)],
                replace,
            )?;
            out.line(format!(
                "Your PuTTY private key has been saved in {}",
                target.display()
            ));
        }
    }
    Ok(())
}
