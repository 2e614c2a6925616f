"""rnn-course's Python package: checking helpers, toy tasks, and the instructors' grader.

- :mod:`autograder.checks`: comparisons and messages used by the visible tests (student-safe).
- :mod:`autograder.grading` and :mod:`autograder.specs`: hidden tests against the reference cells.
- :mod:`autograder.reference`: loads the reference cells from ``solutions/`` (instructors only).
- :mod:`autograder.tasks`: the toy data sets shared by the book and the assignments.

Nothing in this package contains a reference solution: the references live only in the solution
cells of the nbgrader source notebooks under ``solutions/``.
"""

__version__ = "0.1.0"
