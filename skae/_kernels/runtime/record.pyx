"""ThreadRecord: what the kernels measured about their thread count, kept by
the caller between calls (runtime/threads.pxd says what it holds and how each
step's choice is made from it).

A record is a measurement of this process and of the machine's load of the
moment, never part of a model: a new one (every field zero) starts by probing,
and a pickled one comes back new, since another process's clock and load say
nothing here. It changes only speed: results are the same whatever it holds.
"""

from .threads cimport ThreadChoice


cdef class ThreadRecord:
    """The kernels' thread choice, kept between calls.

    Examples
    --------
    >>> from skae._kernels.runtime.record import ThreadRecord
    >>> record = ThreadRecord()
    >>> record.copy().team_size   # 0 until a kernel call has used it
    0
    """

    def copy(self):
        """A record with the same measurements, for a call that runs beside
        others (each call updates its own and one is kept)."""
        cdef ThreadRecord other = ThreadRecord.__new__(ThreadRecord)
        other.choice = self.choice
        return other

    @property
    def team_size(self):
        """The thread team the record was measured for (0: not yet used)."""
        return self.choice.max_threads

    @property
    def chosen(self):
        """The thread count the last probe chose (1 or the team's size)."""
        return self.choice.chosen

    def __reduce__(self):
        return ThreadRecord, ()

    def __repr__(self):
        if self.choice.max_threads == 0:
            return "ThreadRecord(unused)"
        return (f"ThreadRecord(team_size={self.choice.max_threads}, "
                f"chosen={self.choice.chosen}, probing={bool(self.choice.probing)})")
