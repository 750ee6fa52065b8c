import StorageEngine
print("placeholder")
