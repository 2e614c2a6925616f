"""rnn-course's Python package: checking helpers, toy tasks, and the instructors' grader.

- :mod:`autograder.checks`: comparisons and messages used by the visible tests (student-safe).
- :mod:`autograder.hidden_tests`: hidden tests, a student's function against the reference cell.
- :mod:`autograder.specs`: one grading spec per assignment, made of :mod:`autograder.spec_kit`.
- :mod:`autograder.batch`: grading a whole class, each submission in its sandbox (``autograder grade``).
- :mod:`autograder.reference`: loads the reference cells from ``solutions/`` (instructors only).
- :mod:`autograder.tasks`: the toy data sets shared by the book and the assignments.

Nothing in this package contains a reference solution: the references live only in the solution
cells of the nbgrader source notebooks under ``solutions/``.
"""

__version__ = "0.1.0"
