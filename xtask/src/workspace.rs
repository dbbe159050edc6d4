//! Where the workspace is: found at run time from the current directory, so that one xtask
//! binary (a shared `CARGO_TARGET_DIR`) always works on the clone it is run in. Also the
//! `Command` builder that runs programs from the workspace root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use crate::Result;

/// The Portcullis workspace this run works on.
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace around the current directory.
    pub fn from_current_dir() -> Result<Self> {
        let here = env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
        Self::find(&here)
    }

    /// The nearest directory at or above `start` whose `Cargo.toml` declares a `[workspace]`
    /// and which holds the `xtask/` member (so a nested workspace of its own, like `fuzz/`,
    /// is passed over).
    pub fn find(start: &Path) -> Result<Self> {
        start
            .ancestors()
            .find(|dir| declares_workspace(&dir.join("Cargo.toml")) && holds_xtask(dir))
            .map(|dir| Workspace {
                root: dir.to_path_buf(),
            })
            .ok_or_else(|| {
                format!(
                    "{} is not inside the Portcullis workspace (no Cargo.toml with [workspace] and an xtask/ member in it or above it); run cargo xtask from the clone",
                    start.display()
                )
            })
    }

    /// A workspace at `root`, unchecked (for tests on a scratch copy).
    #[cfg(test)]
    pub fn at(root: PathBuf) -> Self {
        Workspace { root }
    }

    /// `relative` inside the workspace.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// `program`, to be run from the workspace root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root);
        cmd
    }
}

fn declares_workspace(manifest: &Path) -> bool {
    fs::read_to_string(manifest).is_ok_and(|text| {
        text.lines().map(str::trim).any(|line| {
            line == "[workspace]" || (line.starts_with("[workspace.") && line.ends_with(']'))
        })
    })
}

fn holds_xtask(dir: &Path) -> bool {
    dir.join("xtask/Cargo.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary folder, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, relative: &str, text: &str) -> PathBuf {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
            path
        }

        fn dir(&self, relative: &str) -> PathBuf {
            let path = self.0.join(relative);
            fs::create_dir_all(&path).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A workspace like ours: a root manifest with members, `xtask/`, a member and a nested
    /// workspace of its own.
    fn clone_like_ours(name: &str) -> Scratch {
        let s = Scratch::new(name);
        s.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"edge\", \"xtask\"]\n",
        );
        s.write("xtask/Cargo.toml", "[package]\nname = \"xtask\"\n");
        s.write("edge/Cargo.toml", "[package]\nname = \"edge\"\n");
        s.write(
            "fuzz/Cargo.toml",
            "[package]\nname = \"fuzz\"\n\n[workspace]\n",
        );
        s
    }

    #[test]
    fn finds_the_root_from_a_member_subdirectory() {
        let s = clone_like_ours("member");
        let ws = Workspace::find(&s.dir("edge/src/deep")).unwrap();
        assert_eq!(ws.root, s.0);
    }

    #[test]
    fn finds_the_root_from_the_root_itself() {
        let s = clone_like_ours("itself");
        assert_eq!(Workspace::find(&s.0).unwrap().root, s.0);
    }

    #[test]
    fn passes_over_a_nested_workspace_without_xtask() {
        let s = clone_like_ours("nested");
        let ws = Workspace::find(&s.dir("fuzz/src")).unwrap();
        assert_eq!(ws.root, s.0);
    }

    #[test]
    fn two_clones_each_find_their_own_root() {
        let a = clone_like_ours("clone-a");
        let b = clone_like_ours("clone-b");
        assert_eq!(Workspace::find(&a.dir("edge")).unwrap().root, a.0);
        assert_eq!(Workspace::find(&b.dir("edge")).unwrap().root, b.0);
    }

    #[test]
    fn outside_a_workspace_is_a_clear_error() {
        let s = Scratch::new("outside");
        s.write("Cargo.toml", "[package]\nname = \"lonely\"\n");
        let err = Workspace::find(&s.dir("src")).err().unwrap();
        assert!(
            err.contains("is not inside the Portcullis workspace"),
            "{err}"
        );
    }

    #[test]
    fn a_workspace_table_with_only_dotted_keys_counts() {
        let s = Scratch::new("dotted");
        s.write("Cargo.toml", "[workspace.package]\nversion = \"0.1.0\"\n");
        s.write("xtask/Cargo.toml", "[package]\nname = \"xtask\"\n");
        assert_eq!(Workspace::find(&s.0).unwrap().root, s.0);
    }

    #[test]
    fn this_repository_is_found_from_the_xtask_folder() {
        let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ws = Workspace::find(xtask).unwrap();
        assert_eq!(ws.root, xtask.parent().unwrap());
        assert!(ws.path("Cargo.lock").is_file());
    }
}
