"""`seiscomp start|stop|check seqtpick`: the module's entry in SeisComP's init system.

Linked into $SEISCOMP_ROOT/etc/init by seqt-install-seiscomp. The kernel runs the module as a
daemon (`seqtpick -D -l var/run/seqtpick.pid`, with its configuration); its station bindings are
written to the database by the `trunk` module (`seiscomp update-config`).
"""

import seiscomp.kernel


class Module(seiscomp.kernel.Module):
    def __init__(self, env):
        seiscomp.kernel.Module.__init__(self, env, env.moduleName(__file__))

    def updateConfigProxy(self):
        # bindings go to the database through trunk's update-config
        return "trunk"

    def updateConfig(self):
        return 0
