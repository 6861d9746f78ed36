import CBPF
