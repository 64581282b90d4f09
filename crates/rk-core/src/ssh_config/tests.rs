use std::collections::HashMap;

use super::*;

/// Config files from memory; a glob is one pattern over the whole path.
struct Files(HashMap<PathBuf, String>);

impl ConfigFiles for Files {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        self.0.get(path).map(|s| s.clone().into_bytes())
    }

    fn glob(&self, glob: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = self
            .0
            .keys()
            .filter(|p| pattern::matches(&p.to_string_lossy(), glob))
            .cloned()
            .collect();
        found.sort();
        found
    }
}

fn query(host: &str) -> Query {
    Query {
        host: host.into(),
        user: None,
        port: None,
        local_user: "me".into(),
        local_host: "laptop.home".into(),
        home: PathBuf::from("/home/me"),
        options: Vec::new(),
    }
}

fn files(list: &[(&str, &str)]) -> Files {
    Files(
        list.iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect(),
    )
}

const TOP: &str = "/home/me/.ssh/config";

fn eval_with(text: &str, q: &Query, exec: Exec<'_>) -> Result<HostConfig, ConfigError> {
    evaluate(&files(&[(TOP, text)]), Path::new(TOP), q, exec)
}

fn eval(text: &str, host: &str) -> HostConfig {
    eval_with(text, &query(host), &mut |_| Ok(false)).unwrap()
}

#[test]
fn first_value_wins_and_host_blocks_select() {
    let text = "Host rk-job\n  HostName 3.80.3.168\n  User uprod_00Grm\n  Port 32100\n\
                Host *\n  User nobody\n  Port 22\n  IdentityFile ~/.ssh/a\n";
    let c = eval(text, "rk-job");
    assert_eq!(c.host_name.as_deref(), Some("3.80.3.168"));
    assert_eq!(c.user.as_deref(), Some("uprod_00Grm"));
    assert_eq!(c.port, Some(32100));
    assert_eq!(c.identity_files, vec!["~/.ssh/a"]);
    let other = eval(text, "elsewhere");
    assert_eq!(other.host_name, None);
    assert_eq!(other.user.as_deref(), Some("nobody"));
}

#[test]
fn host_patterns_are_case_sensitive_and_negation_wins() {
    assert_eq!(eval("Host Foo\n Port 5\n", "foo").port, None);
    assert_eq!(eval("Host f* !foo\n Port 5\n", "foo").port, None);
    assert_eq!(eval("Host f* !fo\n Port 5\n", "foo").port, Some(5));
    // A comma is not a separator on a Host line.
    assert_eq!(eval("Host f*,g\n Port 5\n", "foo").port, None);
}

#[test]
fn a_match_block_that_does_not_match_applies_to_nothing() {
    // The bug this module exists for: ssh2-config applied these lines to `Host foo`.
    let text = "Host foo\n HostName 127.0.0.1\nMatch host 10.9.9.9\n User wrong\n Port 2\n";
    let c = eval(text, "foo");
    assert_eq!(c.port, None);
    assert_eq!(c.user, None);
}

#[test]
fn match_criteria() {
    let hn = "Host foo\n HostName 1.2.3.4\n";
    assert_eq!(
        eval(&format!("{hn}Match host 1.2.3.4\n Port 5\n"), "foo").port,
        Some(5)
    );
    assert_eq!(
        eval(&format!("{hn}Match host foo\n Port 5\n"), "foo").port,
        None
    );
    assert_eq!(
        eval(&format!("{hn}Match originalhost foo\n Port 5\n"), "foo").port,
        Some(5)
    );
    assert_eq!(eval("Match host FOO,!bar\n Port 5\n", "foo").port, Some(5));
    assert_eq!(eval("Match !host foo\n Port 5\n", "foo").port, None);
    assert_eq!(eval("Match all\n Port 5\n", "foo").port, Some(5));
    assert_eq!(eval("Match !all\n Port 5\n", "foo").port, None);
    assert_eq!(eval("Match localuser me\n Port 5\n", "foo").port, Some(5));
    let mut q = query("foo");
    q.user = Some("bob".into());
    let c = eval_with("Match user bob\n Port 5\n", &q, &mut |_| Ok(false)).unwrap();
    assert_eq!(c.port, Some(5));
    // Without a user on the command line, the config's User so far, else the local user.
    assert_eq!(
        eval("User bob\nMatch user bob\n Port 5\n", "foo").port,
        Some(5)
    );
    assert_eq!(eval("Match user me\n Port 5\n", "foo").port, Some(5));
}

#[test]
fn match_exec_runs_with_tokens_and_only_when_needed() {
    let mut ran = Vec::new();
    let text = "Host foo\n HostName h.example\n User u\n\
                Match exec \"test %h/%n/%p/%r/%u/%L = x\"\n Port 5\n\
                Match host nothere exec \"never\"\n Port 6\n";
    let c = eval_with(text, &query("foo"), &mut |cmd| {
        ran.push(cmd.to_string());
        Ok(true)
    })
    .unwrap();
    assert_eq!(c.port, Some(5));
    assert_eq!(ran, vec!["test h.example/foo/22/u/me/laptop = x"]);
}

#[test]
fn unknown_match_criteria_skip_their_block_with_a_warning() {
    let c = eval("Match localnetwork 10.0.0.0/8\n ProxyJump bastion\n", "foo");
    assert_eq!(c.proxy_jump, None);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("line 1") && c.warnings[0].contains("localnetwork"));
}

#[test]
fn match_final_is_a_second_pass() {
    let text = "Match final\n Port 7\nHost foo\n HostName real\nHost real\n User r\n";
    let c = eval(text, "foo");
    assert_eq!(c.port, Some(7));
    // In the final pass, Host patterns see the host name the first pass settled on.
    assert_eq!(c.user.as_deref(), Some("r"));
}

#[test]
fn includes_are_read_in_place_relative_to_dot_ssh() {
    let f = files(&[
        (TOP, "Include conf.d/*\nHost *\n User fallback\n"),
        ("/home/me/.ssh/conf.d/a", "Host foo\n User a\n"),
        ("/home/me/.ssh/conf.d/b", "Port 9\n"),
    ]);
    let c = evaluate(&f, Path::new(TOP), &query("foo"), &mut |_| Ok(false)).unwrap();
    assert_eq!(c.user.as_deref(), Some("a"));
    // conf.d/b's top lines apply to every host: the Host line in conf.d/a ended with its file.
    assert_eq!(c.port, Some(9));
}

#[test]
fn an_include_inside_a_block_that_does_not_match_is_skipped() {
    let f = files(&[
        (
            TOP,
            "Host other\n Include ~/.ssh/extra\nHost foo\n User f\n",
        ),
        ("/home/me/.ssh/extra", "User wrong\nPort 3\n"),
    ]);
    let c = evaluate(&f, Path::new(TOP), &query("foo"), &mut |_| Ok(false)).unwrap();
    assert_eq!((c.user.as_deref(), c.port), (Some("f"), None));
}

#[test]
fn an_include_loop_is_an_error_not_a_hang() {
    let f = files(&[(TOP, "Include config\n")]);
    let e = evaluate(&f, Path::new(TOP), &query("foo"), &mut |_| Ok(false)).unwrap_err();
    assert!(e.message.contains("16 levels"), "{e}");
}

#[test]
fn forwards_accumulate_in_dash_l_syntax() {
    let text = "Host foo\n LocalForward 8888 localhost:8888\n LocalForward 127.0.0.1:9000 db:5432\n\
                RemoteForward 0 127.0.0.1:9000\nHost *\n LocalForward 8888 localhost:8888\n";
    let c = eval(text, "foo");
    assert_eq!(
        c.local_forwards,
        vec!["8888:localhost:8888", "127.0.0.1:9000:db:5432"]
    );
    assert_eq!(c.remote_forwards, vec!["0:127.0.0.1:9000"]);
}

#[test]
fn proxy_jump_and_proxy_command_first_of_the_two_wins() {
    assert_eq!(
        eval("ProxyJump a,b@c:2\n", "x").proxy_jump,
        Some(vec!["a".to_string(), "b@c:2".to_string()])
    );
    assert_eq!(
        eval("ProxyJump none\nProxyJump a\n", "x").proxy_jump,
        Some(vec![])
    );
    let c = eval("ProxyCommand nc %h %p\nProxyJump a\n", "x");
    assert_eq!(c.proxy_jump, None);
    assert!(c.warnings[0].contains("ProxyCommand"));
    assert!(eval("ProxyCommand none\n", "x").warnings.is_empty());
}

#[test]
fn hostname_takes_percent_h() {
    assert_eq!(
        eval("Host *\n HostName %h.cluster.example\n", "node1")
            .host_name
            .as_deref(),
        Some("node1.cluster.example")
    );
}

#[test]
fn bad_values_are_errors_with_file_and_line() {
    let e = eval_with("Host foo\n  Port x\n", &query("foo"), &mut |_| Ok(false)).unwrap_err();
    assert_eq!(e.origin, "/home/me/.ssh/config line 2");
    assert!(e.to_string().contains("line 2: Port \"x\""), "{e}");
    // Lines rk does not act on, or in blocks for other hosts, are read past.
    assert!(
        eval_with("Bogus\nHost other\n Port x\n", &query("foo"), &mut |_| Ok(
            false
        ))
        .is_ok()
    );
    let e = eval_with("Match\n", &query("foo"), &mut |_| Ok(false)).unwrap_err();
    assert!(e.message.contains("Match"), "{e}");
}

#[test]
fn identity_paths_expand_tokens_and_tilde() {
    let q = query("rk-job");
    let p = expand_path("~/.ssh/%r@%h:%p", &q, "3.80.3.168", "uprod", 32100).unwrap();
    assert_eq!(p, PathBuf::from("/home/me/.ssh/uprod@3.80.3.168:32100"));
    assert!(expand_path("%Q", &q, "h", "u", 22).is_err());
}

#[test]
fn real_globs_treat_double_star_as_one_star() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/x.conf"), "").unwrap();
    std::fs::write(dir.path().join("a/b/y.conf"), "").unwrap();
    std::fs::write(dir.path().join("a/.hidden.conf"), "").unwrap();
    let pattern = format!("{}/**/*.conf", dir.path().display());
    let found = RealFiles.glob(&pattern);
    // `**` = `*`: one directory level, as glob(3); no leading-dot files.
    assert_eq!(found, vec![dir.path().join("a/x.conf")]);
}

#[test]
fn command_line_options_come_first_and_take_no_blocks() {
    let mut q = query("foo");
    q.options = vec!["Port=7".into(), "ConnectTimeout 5".into()];
    let c = eval_with(
        "Port 9\nConnectTimeout 1\nServerAliveInterval 10\n",
        &q,
        &mut |_| Ok(false),
    )
    .unwrap();
    assert_eq!(c.port, Some(7));
    assert_eq!(c.settings["connecttimeout"].args, ["5"]);
    assert_eq!(
        c.settings["connecttimeout"].origin,
        "-o \"ConnectTimeout 5\""
    );
    assert_eq!(
        c.settings["serveraliveinterval"].origin,
        "/home/me/.ssh/config line 3"
    );
    for bad in ["Host=x", "Include x", "Port", "nonsense"] {
        q.options = vec![bad.into()];
        let e = eval_with("", &q, &mut |_| Ok(false)).unwrap_err();
        assert!(e.origin.starts_with("-o "), "{bad}: {e}");
    }
}

#[test]
fn other_options_keep_their_first_active_value_and_dynamic_forwards_accumulate() {
    let text = "Host foo\n  StrictHostKeyChecking accept-new\n  DynamicForward 1080\n\
                Host *\n  StrictHostKeyChecking yes\n  DynamicForward 127.0.0.1:1081\n  SendEnv LANG\n";
    let c = eval(text, "foo");
    assert_eq!(c.settings["stricthostkeychecking"].args, ["accept-new"]);
    assert_eq!(c.dynamic_forwards, ["1080", "127.0.0.1:1081"]);
    assert!(!c.settings.contains_key("sendenv"));
    assert!(!c.settings.contains_key("hostname"));
}
