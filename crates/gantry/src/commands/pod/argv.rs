//! rkt's pod command line: `gantry run [POD FLAGS] IMAGE [APP FLAGS] [-- ARGS...] [--- IMAGE [APP FLAGS]
//! [-- ARGS...]]...`. `main` cuts the arguments at each `---` before clap sees them; the first part is parsed as
//! `gantry run` always was, each later part by [`parse_app`].

use clap::Parser;

use super::super::run::AppFlags;

/// The separator between apps.
pub const APP_SEPARATOR: &str = "---";

/// Splits the process arguments into the ordinary command line and the extra apps' parts (each starting with
/// its image). Only `gantry ... run` is split; `---` elsewhere is left alone.
pub fn split(args: Vec<String>) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(first) = args.iter().position(|a| a == APP_SEPARATOR) else {
        return (args, Vec::new());
    };
    if !args[..first].iter().any(|a| a == "run") {
        return (args, Vec::new());
    }
    let mut parts = args.split(|a| a == APP_SEPARATOR).map(<[String]>::to_vec);
    let head = parts.next().unwrap_or_default();
    (head, parts.collect())
}

/// One extra app: `IMAGE [APP FLAGS] [-- ARGS...]`.
#[derive(Debug, Clone, Parser)]
#[command(name = "app", no_binary_name = true, trailing_var_arg = true)]
pub struct AppArgs {
    /// Flags of this app.
    #[command(flatten)]
    pub flags: AppFlags,
    /// Image name.
    pub image: String,
    /// Command and arguments.
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Splits what follows an image into (flags, command): flags run up to `--`; without `--`, words that do not
/// start with `-` are the command (as for a single `gantry run IMAGE CMD...`).
pub fn flags_and_command(rest: &[String]) -> (Vec<String>, Vec<String>) {
    if let Some(i) = rest.iter().position(|a| a == "--") {
        return (rest[..i].to_vec(), rest[i + 1..].to_vec());
    }
    match rest.first() {
        Some(f) if f.starts_with('-') => (rest.to_vec(), Vec::new()),
        _ => (Vec::new(), rest.to_vec()),
    }
}

/// Parses one `---` part. Errors name the part (`app 2`), the flag and what was expected.
pub fn parse_app(index: usize, part: &[String]) -> anyhow::Result<AppArgs> {
    let Some((image, rest)) = part.split_first() else {
        anyhow::bail!(
            "app {index}: nothing after ---; give an IMAGE (--- IMAGE [FLAGS] [-- ARGS])"
        );
    };
    anyhow::ensure!(
        !image.starts_with('-'),
        "app {index}: {image:?} after --- is not an image; the form is --- IMAGE [FLAGS] [-- ARGS]"
    );
    let (flags, command) = flags_and_command(rest);
    let mut argv = flags;
    argv.push(image.clone());
    argv.push("--".into());
    argv.extend(command);
    AppArgs::try_parse_from(&argv).map_err(|e| {
        let msg = e.to_string();
        let first = msg
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        anyhow::anyhow!("app {index} ({image}): {first}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn splits_only_run() {
        let (h, parts) = split(v("gantry run --name p a -- x --- b -e K=V -- y z --- c"));
        assert_eq!(h, v("gantry run --name p a -- x"));
        assert_eq!(parts, vec![v("b -e K=V -- y z"), v("c")]);
        let (h, parts) = split(v("gantry ps --- x"));
        assert_eq!((h.len(), parts.len()), (4, 0));
    }

    #[test]
    fn app_parts() {
        let a = parse_app(2, &v("busybox -e K=V -w /tmp -- sh -c true")).unwrap();
        assert_eq!(a.image, "busybox");
        assert_eq!(a.flags.env, vec!["K=V"]);
        assert_eq!(a.command, v("sh -c true"));
        let a = parse_app(2, &v("busybox httpd -f")).unwrap();
        assert_eq!(a.command, v("httpd -f"));
        assert!(parse_app(2, &[]).is_err());
        let e = parse_app(3, &v("busybox --bogus")).unwrap_err().to_string();
        assert!(e.contains("app 3") && e.contains("--bogus"), "{e}");
    }
}
