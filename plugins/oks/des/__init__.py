"""DES (İŞNET Dijital Eko Sistem) gateway: the contract, the client, and (for tests and demos) a simulator."""
