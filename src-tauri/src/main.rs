// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// WebKitGTK and GTK settings the app starts with, each unless the person
/// has set it: the screens are forms and tables, so nothing here needs a GPU
/// or a JIT.
/// - Accelerated compositing buys nothing and costs about 90 MiB in the web
///   process (a GL context, with Mesa's LLVM under a virtual display); it is
///   also the usual cause of blank windows in virtual machines.
/// - JavaScriptCore runs the screens in its interpreter: no page of the
///   process that shows the pass-phrase field is ever writable and
///   executable, and the JIT's code and compiler threads (about 7 MiB) are
///   not there.
/// - GTK does not probe GLX when it opens the display: the window draws no
///   GL of its own.
const WEBVIEW_DEFAULTS: [(&str, &str); 3] = [
    ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
    ("JSC_useJIT", "0"),
    ("GDK_GL", "disable"),
];

fn main() {
    for (name, value) in WEBVIEW_DEFAULTS {
        if std::env::var_os(name).is_none() {
            // SAFETY: set before any thread is started; nothing reads the
            // environment concurrently.
            #[allow(unsafe_code)]
            unsafe {
                std::env::set_var(name, value);
            }
        }
    }
    signet_desktop::run();
}
