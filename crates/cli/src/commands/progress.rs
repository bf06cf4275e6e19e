//! A progress bar on stderr, only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws layer download and decoding progress; hidden when not on a terminal.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(visible: bool) -> Self {
        let bar = if visible {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} reading layers {msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style);
        }
        Self { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl portcullis_image::Progress for Bar {
    fn layers(&self, count: usize, total_bytes: u64) {
        self.bar.set_length(total_bytes);
        self.bar.set_message(format!("({count})"));
    }

    fn advance(&self, compressed_bytes: u64) {
        self.bar.inc(compressed_bytes);
    }
}
