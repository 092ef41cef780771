-- The camera is roomd's alone (V4L2, opened for calls): PipeWire's session
-- manager does not make camera nodes of its own.
v4l2_monitor.enabled = false
