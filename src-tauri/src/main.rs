// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The screens are forms and tables: WebKitGTK's accelerated compositing
    // buys nothing here and costs about 90 MiB in the web process (a GL
    // context, with Mesa's LLVM under a virtual display), and it is the usual
    // cause of blank windows in virtual machines. A value set by the person wins.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: set before any thread is started; nothing reads the
        // environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
    }
    signet_desktop::run();
}
