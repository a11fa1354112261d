#!/usr/bin/python3
"""Asks a window to close as a window manager does: a WM_DELETE_WINDOW
client message (ICCCM 4.2.8.1) to every top-level window of the given
process id. Usage: close_window.py PID  (DISPLAY names the display)."""

import sys

from Xlib import X, display, protocol


def windows_of(disp, pid):
    pid_atom = disp.intern_atom("_NET_WM_PID")
    pending = [disp.screen().root]
    while pending:
        window = pending.pop()
        try:
            prop = window.get_full_property(pid_atom, X.AnyPropertyType)
            children = window.query_tree().children
        except Exception:
            continue
        if prop is not None and prop.value and int(prop.value[0]) == pid:
            yield window
        pending.extend(children)


def main():
    pid = int(sys.argv[1])
    disp = display.Display()
    protocols = disp.intern_atom("WM_PROTOCOLS")
    delete = disp.intern_atom("WM_DELETE_WINDOW")
    sent = 0
    for window in windows_of(disp, pid):
        if delete not in (window.get_wm_protocols() or []):
            continue
        event = protocol.event.ClientMessage(
            window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        window.send_event(event)
        sent += 1
    disp.flush()
    if sent == 0:
        sys.exit("no window of process %d takes WM_DELETE_WINDOW" % pid)


main()
