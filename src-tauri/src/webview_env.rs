//! The webview engine's environment: WebKitGTK and GTK settings the app
//! starts with, each unless the person has set it. Applied by [`crate::run`]
//! before any thread starts.

/// WebKitGTK and GTK settings the app starts with, each unless the person
/// has set it: the screens are forms and tables, so nothing here needs a GPU
/// or a JIT.
/// - Accelerated compositing buys nothing and costs about 90 MiB in the web
///   process (a GL context, with Mesa's LLVM under a virtual display); it is
///   also the usual cause of blank windows in virtual machines.
/// - Without compositing, frames reach the shell in shared memory; the
///   DMA-BUF renderer is off, so the shell does not open an EGL display to
///   check whether the GPU could pass them instead.
/// - JavaScriptCore runs the screens in its interpreter: no page of the
///   process that shows the pass-phrase field is ever writable and
///   executable, and the JIT's code and compiler threads (about 7 MiB) are
///   not there.
/// - GTK does not probe GLX when it opens the display: the window draws no
///   GL of its own.
const WEBVIEW_DEFAULTS: [(&str, &str); 4] = [
    ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
    ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    ("JSC_useJIT", "0"),
    ("GDK_GL", "disable"),
];

/// WebKit's shell tells each web process which GPU to render on and, unless
/// told, finds out by opening an EGL display of its own: that loads Mesa and
/// the LLVM it links (about 17 MiB) into a process that draws no GL. With the
/// DMA-BUF renderer off, the web process only paints into shared memory, so
/// the app names the machine's first render node, or none (`/dev/null`)
/// where there is no GPU, as under a virtual display.
const RENDER_NODE_VARIABLE: &str = "WEBKIT_WEB_RENDER_DEVICE_FILE";

fn render_node() -> String {
    let mut nodes: Vec<String> = std::fs::read_dir("/dev/dri")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().to_string_lossy().into_owned())
        .filter(|path| path.starts_with("/dev/dri/renderD"))
        .collect();
    nodes.sort();
    nodes.into_iter().next().unwrap_or_else(|| "/dev/null".to_owned())
}

/// Sets `name` unless the person has set it.
fn set_default(name: &str, value: impl FnOnce() -> String) {
    if std::env::var_os(name).is_none() {
        // SAFETY: called before any thread is started; nothing reads the
        // environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(name, value());
        }
    }
}

/// Sets every default above that the person has not set. Must run before
/// any thread is started (it changes the process environment).
pub(crate) fn apply_defaults() {
    for (name, value) in WEBVIEW_DEFAULTS {
        set_default(name, || value.to_owned());
    }
    if std::env::var("WEBKIT_DISABLE_DMABUF_RENDERER").is_ok_and(|v| v != "0") {
        set_default(RENDER_NODE_VARIABLE, render_node);
    }
}
