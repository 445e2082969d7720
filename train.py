"""Train a text classifier as the Hydra config says: ``python train.py [overrides]``
(``loralab-train`` once the package is installed).

Examples:
    python train.py data=ag_news trainer.max_epochs=5
    python train.py model=lora_textclassifier model.lora.rank=4
    python train.py -m model.lora.rank=1,2,4,8      # a sweep
    python train.py resume=outputs/train/<run>      # continue an interrupted run in its folder
"""

from loralab.console_scripts import train

if __name__ == "__main__":
    train()
