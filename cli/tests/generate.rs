//! `rainmaker-prov completions` and `rainmaker-prov man`: the bash script completes real command
//! lines in bash, the other shells' scripts cover the commands, and the manual page renders
//! without groff warnings and documents every command, its options and the exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rainmaker-prov");

/// Every command of the program, as the manual page and the completions must know them.
const COMMANDS: [&str; 8] = ["login", "logout", "provision", "scan", "sim", "demo", "completions", "man"];

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

/// Runs `rainmaker-prov ARGS`, which must succeed silently on stderr; returns its stdout.
fn generate(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote on stderr: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs an external tool; a missing tool fails the test with what to install.
fn tool(program: &str, package: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed: install the Debian package `{package}` (apt-get install {package})")
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    // Writing from a thread: the tool may fill its stdout before reading all of stdin.
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// A file under the test target's scratch directory holding `text`.
fn scratch_file(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Sources the bash completion script in `bash` and completes `words` (the last one is the word
/// under the cursor) with the function the script registered for `rainmaker-prov`, as bash's
/// programmable completion calls it; returns COMPREPLY.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    const DRIVER: &str = r#"
source "$1" || exit 90
spec=$(complete -p rainmaker-prov) || exit 91
fn=${spec#*-F }
fn=${fn%% *}
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" rainmaker-prov "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 92
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut args = vec!["--norc", "--noprofile", "-c", DRIVER, "bash", script.to_str().unwrap()];
    args.extend_from_slice(words);
    let out = tool("bash", "bash", &args, "");
    assert!(
        out.status.success(),
        "completing {words:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reply: Vec<String> =
        String::from_utf8(out.stdout).unwrap().lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    reply.sort();
    reply
}

#[test]
fn bash_completion_completes_commands_options_and_values() {
    let script = generate(&["completions", "bash"]);
    let path = scratch_file("rainmaker-prov.bash", &script);

    assert_eq!(bash_complete(&path, &["rainmaker-prov", "prov"]), ["provision"]);
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "log"]), ["login", "logout"]);
    let all = bash_complete(&path, &["rainmaker-prov", ""]);
    for command in COMMANDS {
        assert!(all.iter().any(|w| w == command), "{command} missing from {all:?}");
    }

    assert_eq!(bash_complete(&path, &["rainmaker-prov", "provision", "--trans"]), ["--transport"]);
    let transports = bash_complete(&path, &["rainmaker-prov", "provision", "--transport", ""]);
    assert!(transports.iter().any(|w| w == "softap") && transports.iter().any(|w| w == "console"), "{transports:?}");
    // `ble` only exists in builds with the `ble` feature.
    assert!(transports.iter().all(|w| ["softap", "console", "ble"].contains(&w.as_str())), "{transports:?}");
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "provision", "--transport", "so"]), ["softap"]);
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "scan", "--sec", ""]), ["0", "1", "2", "auto"]);
    // Options of the RainMaker group and the global -v are completed too.
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "provision", "--no-w"]), ["--no-wifi"]);
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "--verb"]), ["--verbose"]);
    // At the positional, clap offers the command's options along with the values.
    let shells = bash_complete(&path, &["rainmaker-prov", "completions", ""]);
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(shells.iter().any(|w| w == shell), "{shell} missing from {shells:?}");
    }
    assert_eq!(bash_complete(&path, &["rainmaker-prov", "completions", "z"]), ["zsh"]);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn zsh_fish_elvish_and_powershell_scripts_cover_the_commands() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = generate(&["completions", shell]);
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for command in COMMANDS {
            // Each shell's own way of offering a subcommand, so that `man` is not found inside
            // "command" nor `sim` inside "simulated".
            let offered = match shell {
                "zsh" => format!("'{command}:"),
                "fish" => format!("-a \"{command}\""),
                "elvish" => format!("cand {command} '"),
                _ => format!("[CompletionResult]::new('{command}', '{command}',"),
            };
            assert!(script.contains(&offered), "{shell}: no {command} ({offered})");
        }
        assert!(script.contains("transport") && script.contains("softap"), "{shell}: no --transport values");
    }
    let zsh = generate(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef rainmaker-prov\n"), "{}", zsh.lines().next().unwrap_or_default());
    let fish = generate(&["completions", "fish"]);
    assert!(
        fish.lines().any(|l| l.starts_with("complete -c rainmaker-prov ")
            && l.contains("provision")
            && l.contains("-l transport")),
        "fish: no `--transport` completion for provision"
    );
    // Both shells parse their scripts (scripts/test-all.sh installs zsh and fish).
    let zsh_file = scratch_file("completion.zsh", &zsh);
    let out = tool("zsh", "zsh", &["-n", zsh_file.to_str().unwrap()], "");
    assert!(out.status.success(), "zsh -n: {}", String::from_utf8_lossy(&out.stderr));
    let fish_file = scratch_file("completion.fish", &fish);
    let out = tool("fish", "fish", &["--no-execute", fish_file.to_str().unwrap()], "");
    assert!(out.status.success(), "fish --no-execute: {}", String::from_utf8_lossy(&out.stderr));
    // fish itself completes from the script.
    let probe = format!("source {}; complete -C 'rainmaker-prov provision --transport '", fish_file.display());
    let out = tool("fish", "fish", &["--no-config", "-c", &probe], "");
    let offered = String::from_utf8_lossy(&out.stdout);
    for value in ["softap", "console"] {
        assert!(offered.lines().any(|l| l.starts_with(value)), "fish offers {offered:?}");
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tcsh") && stderr.contains("bash"), "{stderr}");
    assert_eq!(run(&["completions"]).status.code(), Some(2));
}

#[test]
fn manual_page_renders_without_groff_warnings() {
    let page = generate(&["man"]);
    assert!(page.contains("\n.TH RAINMAKER-PROV 1 "), "no title line");
    let out = tool("groff", "groff-base", &["-man", "-Tutf8", "-ww", "-z"], &page);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "groff failed: {stderr}");
    assert!(stderr.is_empty(), "groff warnings: {stderr}");
}

#[test]
fn manual_page_documents_every_command_its_options_and_the_exit_codes() {
    let page = generate(&["man"]);
    // Plain text (no SGR, bold or underline) on lines long enough not to break or hyphenate words.
    let out = tool("groff", "groff-base", &["-man", "-Tutf8", "-P-cbou", "-rLL=1000n"], &page);
    assert!(out.status.success(), "groff failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();

    for command in COMMANDS {
        let heading = format!("RAINMAKER-PROV {}", command.to_uppercase());
        assert_eq!(text.lines().filter(|l| l.trim() == heading).count(), 1, "no section {heading}");
        assert!(text.contains(&format!("rainmaker-prov {command} [")), "no synopsis for {command}");
    }
    for option in ["--transport <TRANSPORT>", "--pop <POP>", "--email <EMAIL>", "--no-wifi", "--listen <LISTEN>"] {
        assert!(text.contains(option), "no {option}");
    }
    assert!(text.contains("softap: SoftAP + HTTP"), "no transport values");
    assert!(text.contains("-v, --verbose"), "no global option");

    // The exit code list, once, one code per entry.
    assert_eq!(text.lines().filter(|l| l.trim() == "EXIT STATUS").count(), 1);
    let entry = |code: &str, meaning: &str| {
        text.lines()
            .any(|l| l.trim_start().strip_prefix(code).is_some_and(|rest| rest.trim_start().starts_with(meaning)))
    };
    for (code, meaning) in [
        ("0", "success"),
        ("2", "usage error or invalid input"),
        ("3", "wrong PoP"),
        ("9", "security below the accepted minimum"),
        ("11", "RainMaker association failed"),
        ("13", "RainMaker cloud unreachable"),
        ("130", "cancelled"),
    ] {
        assert!(entry(code, meaning), "no exit code {code} ({meaning})");
    }
    assert_eq!(text.matches("cancelled").count(), 1, "exit codes shown more than once");
    assert!(!text.contains("Exit codes:"), "raw --help exit code text in the page");
}

#[test]
fn write_errors_exit_1_with_a_message() {
    // A full device (ENOSPC) and a pipe whose reader is gone (EPIPE).
    for args in [&["man"][..], &["completions", "bash"][..]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: cannot write the ") && !stderr.contains("panicked"), "{stderr}");

        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).stdout(writer).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("error: cannot write the ") && !stderr.contains("panicked"), "{stderr}");
    }
}
