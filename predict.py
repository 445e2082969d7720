"""Label texts with a finished run: ``python predict.py <run folder> "text" ...`` (or one text per line on stdin)
(``loralab-predict`` once the package is installed). ``python predict.py --help`` lists the arguments."""

from loralab.console_scripts import predict

if __name__ == "__main__":
    predict()
