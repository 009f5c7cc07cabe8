//! `completions` and `man`: shell completion scripts and the manual page, generated from the
//! command-line definition (`Cli`), so they never drift from what the parser accepts.
//!
//! The manual page is one page for the whole program: the top-level NAME, SYNOPSIS, DESCRIPTION
//! and OPTIONS rendered by `clap_mangen`, a COMMANDS summary, then one section per command (its
//! synopsis, description and options, with `clap_mangen`'s section headings turned into
//! subsections), then EXIT STATUS (the exit code list of `--help`, once) and VERSION.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::Cli;

/// The program name used by the completion scripts and the manual page.
const BIN_NAME: &str = "rainmaker-prov";

/// Prints the completion script for `shell` on stdout; returns the exit code.
pub fn completions(shell: clap_complete::Shell) -> u8 {
    let mut cmd = Cli::command();
    // `clap_complete::generate` panics when its writer fails: generate in memory, write after.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN_NAME, &mut script);
    if shell == clap_complete::Shell::Bash {
        script = fix_bash_state_names(&script);
    }
    write_stdout(&script, "completion script")
}

/// Works around clap-rs/clap#6421 (clap_complete 4.6.12 and earlier): for a bin name with a
/// hyphen, the bash script's loop names the state of `rainmaker-prov provision`
/// `rainmaker__prov__subcmd__provision`, but the `case` arm that completes the subcommand's
/// options is labelled `rainmaker__subcmd__prov__subcmd__provision`, so nothing after a
/// subcommand ever completes. The arm labels are respelled the way the loop spells them; with a
/// fixed clap_complete the misspelling is absent and this changes nothing.
fn fix_bash_state_names(script: &[u8]) -> Vec<u8> {
    const SEP: &str = "__subcmd__";
    let Ok(text) = std::str::from_utf8(script) else { return script.to_vec() };
    let wrong = format!("{}{SEP}", BIN_NAME.replace('-', SEP));
    let right = format!("{}{SEP}", BIN_NAME.replace('-', "__"));
    text.replace(&wrong, &right).into_bytes()
}

/// Prints the manual page on stdout; returns the exit code.
pub fn man() -> u8 {
    match man_page() {
        Ok(page) => write_stdout(page.as_bytes(), "manual page"),
        Err(e) => {
            report(&format!("cannot render the manual page: {e}"));
            1
        }
    }
}

/// Writes `bytes` on stdout; a write error (a closed pipe, a full disk) is reported on stderr and
/// gives exit code 1.
fn write_stdout(bytes: &[u8], what: &str) -> u8 {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            report(&format!("cannot write the {what} to stdout: {e}"));
            1
        }
    }
}

/// One error line on stderr (ignoring a failing stderr: there is nowhere left to report to).
fn report(message: &str) {
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// The whole manual page (roff, section 1).
fn man_page() -> io::Result<String> {
    // The `help` subcommand is clap's own; `--help` is documented with every command instead.
    let mut cmd = Cli::command().bin_name(BIN_NAME).disable_help_subcommand(true).subcommand_value_name("COMMAND");
    cmd.build();
    let top = Man::new(cmd.clone());

    let mut page = Page::new(cmd.get_version().unwrap_or_default());
    page.append(|w| top.render_name_section(w), false)?;
    page.append(|w| top.render_synopsis_section(w), false)?;
    page.append(|w| top.render_description_section(w), false)?;
    page.append(|w| top.render_options_section(w), false)?;

    let commands: Vec<&clap::Command> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    let mut summary = Roff::new();
    summary.control("SH", ["COMMANDS"]);
    summary.text([roman(
        "Each command is described in a section of its own below. The global options above are accepted by every \
         command.",
    )]);
    for sub in &commands {
        summary.control("TP", []);
        summary.text([bold(sub.get_name())]);
        summary.text([roman(sub.get_about().map(ToString::to_string).unwrap_or_default())]);
    }
    page.append(|w| summary.to_writer(w), false)?;

    for sub in commands {
        // Global options (`-v`) are documented once, in the top-level OPTIONS section.
        let sub = sub.clone().mut_args(|arg| if arg.is_global_set() { arg.hide(true) } else { arg });
        let mut heading = Roff::new();
        heading.control("SH", [format!("{BIN_NAME} {}", sub.get_name()).to_uppercase().as_str()]);
        page.append(|w| heading.to_writer(w), false)?;
        let man = Man::new(sub);
        page.append(|w| man.render_synopsis_section(w), true)?;
        page.append(|w| man.render_description_section(w), true)?;
        page.append(|w| man.render_options_section(w), true)?;
    }

    if let Some(codes) = cmd.get_after_help() {
        let mut exit_status = Roff::new();
        exit_status_section(&mut exit_status, &codes.to_string());
        page.append(|w| exit_status.to_writer(w), false)?;
    }
    page.append(|w| top.render_version_section(w), false)?;
    Ok(page.text)
}

/// A manual page assembled from separately rendered pieces.
struct Page {
    /// The roff source so far.
    text: String,
    /// What every rendered piece starts with (the apostrophe string definition); the page has it
    /// once, at the top.
    preamble: String,
}

impl Page {
    /// A page with the preamble and the title line (`.TH`) for version `version`.
    fn new(version: &str) -> Self {
        let preamble = Roff::new().render();
        // Written by hand: `clap_mangen` leaves the empty date argument unquoted, which shifts
        // the source and manual arguments of `.TH` one place left.
        let text =
            format!("{preamble}.TH {} 1 \"\" \"{BIN_NAME} {version}\" \"User Commands\"\n", BIN_NAME.to_uppercase());
        Page { text, preamble }
    }

    /// Appends what `render` writes, without its preamble. With `subsection`, the piece's `.SH`
    /// headings become `.SS`, so that it nests under the current section.
    fn append(&mut self, render: impl FnOnce(&mut dyn Write) -> io::Result<()>, subsection: bool) -> io::Result<()> {
        let mut buf = Vec::new();
        render(&mut buf)?;
        let piece = String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let piece = piece.strip_prefix(&self.preamble).unwrap_or(&piece);
        for line in piece.lines() {
            // Text lines never start with `.` (roff escapes them), so this only matches headings.
            match line.strip_prefix(".SH ") {
                Some(title) if subsection => {
                    self.text.push_str(".SS ");
                    self.text.push_str(title);
                }
                _ => self.text.push_str(line),
            }
            self.text.push('\n');
        }
        Ok(())
    }
}

/// Renders the exit code list of `--help` (`Exit codes:` then lines `  CODE  meaning`, with
/// continuation lines indented further) as an EXIT STATUS section with one tagged paragraph per
/// code.
fn exit_status_section(roff: &mut Roff, help: &str) {
    roff.control("SH", ["EXIT STATUS"]);
    let mut codes: Vec<(String, String)> = Vec::new();
    for line in help.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let entry = line.split_once(char::is_whitespace).filter(|(code, _)| code.bytes().all(|b| b.is_ascii_digit()));
        match (entry, codes.last_mut()) {
            (Some((code, meaning)), _) => codes.push((code.to_owned(), meaning.trim().to_owned())),
            (None, Some((_, meaning))) => {
                meaning.push(' ');
                meaning.push_str(line);
            }
            // The list's own title (`Exit codes:`) is the section heading; other text is kept.
            (None, None) if line.ends_with(':') => {}
            (None, None) => {
                roff.text([roman(line)]);
            }
        }
    }
    for (code, meaning) in codes {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
}
