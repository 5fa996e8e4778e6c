package adapter

// HasRoom reports whether room has local members: a room some socket
// joined, or the id of a registered socket. Cluster adapters use it to drop
// messages for rooms this server does not have, and to know when a room
// they follow is gone.
func (m *Memory) HasRoom(room Room) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, ok := m.rooms[room]; ok {
		return true
	}
	_, ok := m.members[room]
	return ok
}
