//! SIGINT (Ctrl-C) and SIGTERM: the first cancels training (the update in progress finishes
//! and is checkpointed); a second exits at once. The last checkpoint stays intact either way:
//! it is only ever replaced by an atomic rename.

use tokio_util::sync::CancellationToken;

/// Watches for the signals on a thread of its own and cancels `token` at the first.
pub fn cancel_on_signal(token: CancellationToken) {
    let watch = move || -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            #[cfg(unix)]
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            for signals in 0.. {
                #[cfg(unix)]
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r?,
                    _ = term.recv() => {}
                }
                #[cfg(not(unix))]
                tokio::signal::ctrl_c().await?;
                if signals > 0 {
                    eprintln!("interrupted twice: exiting without a final checkpoint");
                    std::process::exit(130);
                }
                token.cancel();
            }
            Ok(())
        })
    };
    std::thread::spawn(move || {
        if let Err(e) = watch() {
            eprintln!("cannot watch for signals: {e}");
        }
    });
}
