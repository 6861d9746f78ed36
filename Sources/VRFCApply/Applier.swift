import VRFCNetlink
import VRFCBPF
