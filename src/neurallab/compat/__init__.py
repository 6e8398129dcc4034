"""The course's own module names, classes and flags, thin over neurallab.

Each module here is a drop-in for one course file, with the names, defaults, printed lines and
output files that file's users rely on (../docs/compat.md says how to use each one):

* `img_classifier`  -> HW0 `img_classifier.py`
* `txt_classifier`  -> HW0 `txt_classifier.py`
* `rnn`             -> HW7 `rnn.py`
* `cifar_pytorch`   -> CNN/RNN `cifar_pytorch.py`; `cifar_evaluate` -> the student's `test.py`
* `driver_parity`   -> CNN/RNN `driver_parity.py`; `univariate_tester` -> `univariate_tester.py`
"""
