import VRFCApply
print("vrfc-apply: not built yet")
