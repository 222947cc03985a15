//! `run_in_child` from a single-threaded process (this test has no harness, so no test threads): results and
//! errors come back, threads started in the child never reach the caller, and a hung child is killed.

use std::time::Duration;

use gantry_sys::helper::run_in_child;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn main() {
    assert_eq!(threads(), 1, "this test must run without a harness");
    assert_eq!(
        run_in_child(|| Ok(()), Duration::from_secs(5)).unwrap(),
        Ok(())
    );
    let err = run_in_child(|| Err("no such unit".into()), Duration::from_secs(5)).unwrap();
    assert_eq!(err, Err("no such unit".to_string()));
    let threaded = run_in_child(
        || {
            let t = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(60)));
            std::mem::forget(t);
            if threads() == 2 {
                Ok(())
            } else {
                Err("no thread".into())
            }
        },
        Duration::from_secs(5),
    );
    assert_eq!(threaded.unwrap(), Ok(()));
    assert_eq!(threads(), 1, "the child's thread leaked into the caller");
    let hung = run_in_child(
        || {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        },
        Duration::from_millis(200),
    )
    .unwrap_err();
    assert_eq!(hung.kind(), std::io::ErrorKind::TimedOut, "{hung}");
    println!("run_in_child: 4 checks passed");
}
