<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi_VN">
<context>
    <name>Ask</name>
    <message>
        <source>System prompt</source>
        <translation>Lời nhắc hệ thống</translation>
    </message>
    <message>
        <source>Send to {name}?</source>
        <translation>Gửi đến {name}?</translation>
    </message>
    <message>
        <source>About to send {summary}.</source>
        <translation>Sắp gửi {summary}.</translation>
    </message>
    <message>
        <source>Token count estimated on this computer. Host: {host}.</source>
        <translation>Số token được ước tính trên máy này. Máy chủ nhận: {host}.</translation>
    </message>
    <message>
        <source>Send to {name}</source>
        <translation>Gửi đến {name}</translation>
    </message>
    <message>
        <source>Open a GGUF model</source>
        <translation>Mở một mô hình GGUF</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>Mô hình GGUF (*.gguf);;Mọi tệp (*)</translation>
    </message>
</context>
<context>
    <name>BackupsSection</name>
    <message>
        <source>daily</source>
        <translation>hằng ngày</translation>
    </message>
    <message>
        <source>made by you</source>
        <translation>do bạn tạo</translation>
    </message>
    <message>
        <source>before an upgrade</source>
        <translation>trước khi nâng cấp</translation>
    </message>
    <message>
        <source>Hearth backs up your chats by itself once a day and before each upgrade, in {folder}. It keeps {daily} daily backups, {manual} made with Back up now and {upgrade} from before upgrades. Restoring keeps your current history aside; nothing is deleted.</source>
        <translation>Hearth tự sao lưu các cuộc trò chuyện của bạn mỗi ngày một lần và trước mỗi lần nâng cấp, vào {folder}. Hearth giữ {daily} bản sao lưu hằng ngày, {manual} bản tạo bằng Sao lưu ngay và {upgrade} bản từ trước các lần nâng cấp. Khi khôi phục, lịch sử hiện tại được cất riêng; không có gì bị xóa.</translation>
    </message>
    <message>
        <source>Backups</source>
        <translation>Sao lưu</translation>
    </message>
    <message>
        <source>Back up now</source>
        <translation>Sao lưu ngay</translation>
    </message>
    <message>
        <source>Restore…</source>
        <translation>Khôi phục…</translation>
    </message>
    <message>
        <source>No backups yet.</source>
        <translation>Chưa có bản sao lưu nào.</translation>
    </message>
    <message>
        <source>Backing up…</source>
        <translation>Đang sao lưu…</translation>
    </message>
    <message>
        <source>Pick a backup in the list first.</source>
        <translation>Hãy chọn một bản sao lưu trong danh sách trước.</translation>
    </message>
    <message>
        <source>Replace your chats with the backup from {when}?

Hearth checks the backup first. Your current history is kept as a file next to it, so you can go back.</source>
        <translation>Thay các cuộc trò chuyện của bạn bằng bản sao lưu lúc {when}?

Hearth kiểm tra bản sao lưu trước. Lịch sử hiện tại được giữ thành một tệp bên cạnh, nên bạn có thể quay lại.</translation>
    </message>
    <message>
        <source>Restore a backup</source>
        <translation>Khôi phục bản sao lưu</translation>
    </message>
    <message>
        <source>Checking and restoring the backup…</source>
        <translation>Đang kiểm tra và khôi phục bản sao lưu…</translation>
    </message>
    <message>
        <source>Backed up: {name} ({size}).</source>
        <translation>Đã sao lưu: {name} ({size}).</translation>
    </message>
    <message>
        <source>Restored {chats} chats ({messages} messages). Your history from before is kept at {kept}.</source>
        <translation>Đã khôi phục {chats} cuộc trò chuyện ({messages} tin nhắn). Lịch sử trước đó được giữ tại {kept}.</translation>
    </message>
</context>
<context>
    <name>Banner</name>
    <message>
        <source>Close this message</source>
        <translation>Đóng thông báo này</translation>
    </message>
    <message>
        <source>Close the message</source>
        <translation>Đóng thông báo</translation>
    </message>
</context>
<context>
    <name>ChatController</name>
    <message>
        <source>Waiting for the model (%n request ahead)…</source>
        <translation>Đang chờ mô hình (còn %n yêu cầu phía trước)…</translation>
    </message>
    <message>
        <source>Waiting for the model (%n requests ahead)…</source>
        <translation>Đang chờ mô hình (còn %n yêu cầu phía trước)…</translation>
    </message>
    <message>
        <source>Searching your documents for the message you sent…</source>
        <translation>Đang tìm trong tài liệu của bạn cho tin nhắn vừa gửi…</translation>
    </message>
    <message>
        <source>Edit message</source>
        <translation>Sửa tin nhắn</translation>
    </message>
    <message>
        <source>Edit and resend (the old version is kept):</source>
        <translation>Sửa và gửi lại (phiên bản cũ được giữ):</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>System prompt:</source>
        <translation>Lời nhắc hệ thống:</translation>
    </message>
    <message>
        <source>How the assistant should behave in this chat</source>
        <translation>Trợ lý nên hành xử thế nào trong cuộc trò chuyện này</translation>
    </message>
    <message>
        <source>Replies from:</source>
        <translation>Trả lời từ:</translation>
    </message>
    <message>
        <source>This computer</source>
        <translation>Máy này</translation>
    </message>
    <message>
        <source>Claude (sent to Anthropic)</source>
        <translation>Claude (gửi đến Anthropic)</translation>
    </message>
    <message>
        <source>Preview before sending</source>
        <translation>Xem trước khi gửi</translation>
    </message>
    <message>
        <source>Show exactly what will be sent to Claude, and its cost, before each request</source>
        <translation>Hiện chính xác những gì sẽ gửi đến Claude, và chi phí, trước mỗi yêu cầu</translation>
    </message>
    <message>
        <source>Start a conversation: type a message below.</source>
        <translation>Bắt đầu trò chuyện: hãy gõ tin nhắn bên dưới.</translation>
    </message>
    <message>
        <source>Message (Enter sends, Shift+Enter for a new line)</source>
        <translation>Tin nhắn (Enter để gửi, Shift+Enter để xuống dòng)</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Tin nhắn</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Gửi</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Dừng</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>Tạo lại</translation>
    </message>
    <message>
        <source>Ask Claude</source>
        <translation>Hỏi Claude</translation>
    </message>
    <message>
        <source>Send this message and the conversation to Claude (you see exactly what first)</source>
        <translation>Gửi tin nhắn này và cuộc trò chuyện đến Claude (bạn xem chính xác nội dung trước)</translation>
    </message>
    <message>
        <source>Stop the reply; what was written is kept (Esc)</source>
        <translation>Dừng câu trả lời; phần đã viết được giữ (Esc)</translation>
    </message>
    <message>
        <source>Write the last reply again</source>
        <translation>Viết lại câu trả lời gần nhất</translation>
    </message>
</context>
<context>
    <name>ClaudeKeyController</name>
    <message>
        <source>A key is stored ({location}).</source>
        <translation>Đã lưu một khóa ({location}).</translation>
    </message>
    <message>
        <source>No key yet. It will be kept in {keychain}.</source>
        <translation>Chưa có khóa. Khóa sẽ được giữ trong {keychain}.</translation>
    </message>
    <message>
        <source>No keychain: {reason}. A key can be kept for this session only.</source>
        <translation>Không có kho khóa: {reason}. Khóa chỉ có thể được giữ trong phiên này.</translation>
    </message>
    <message>
        <source>Looking for the key…</source>
        <translation>Đang tìm khóa…</translation>
    </message>
    <message>
        <source>Claude API key</source>
        <translation>Khóa API Claude</translation>
    </message>
    <message>
        <source>Paste your Anthropic API key:</source>
        <translation>Dán khóa API Anthropic của bạn:</translation>
    </message>
    <message>
        <source>No keychain</source>
        <translation>Không có kho khóa</translation>
    </message>
    <message>
        <source>{reason}

Keep the key in memory for this session only (it is never written to a file)?</source>
        <translation>{reason}

Giữ khóa trong bộ nhớ chỉ cho phiên này (khóa không bao giờ được ghi ra tệp)?</translation>
    </message>
    <message>
        <source>Keeping the key for this session…</source>
        <translation>Đang giữ khóa cho phiên này…</translation>
    </message>
    <message>
        <source>Storing the key in the keychain…</source>
        <translation>Đang lưu khóa vào kho khóa…</translation>
    </message>
    <message>
        <source>Forgetting the key…</source>
        <translation>Đang quên khóa…</translation>
    </message>
    <message>
        <source>There is no key to test.</source>
        <translation>Không có khóa nào để kiểm tra.</translation>
    </message>
    <message>
        <source>Set one first.</source>
        <translation>Hãy đặt khóa trước.</translation>
    </message>
    <message>
        <source>The key works ({model}).</source>
        <translation>Khóa hoạt động ({model}).</translation>
    </message>
    <message>
        <source>Testing the key with one minimal request…</source>
        <translation>Đang kiểm tra khóa bằng một yêu cầu tối thiểu…</translation>
    </message>
</context>
<context>
    <name>CodeHeader</name>
    <message>
        <source>Copy the {language} code</source>
        <translation>Sao chép mã {language}</translation>
    </message>
    <message>
        <source>Copy the code</source>
        <translation>Sao chép mã</translation>
    </message>
    <message>
        <source>Copy this code block</source>
        <translation>Sao chép khối mã này</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Đã chép</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Sao chép</translation>
    </message>
</context>
<context>
    <name>CollectionPicker</name>
    <message>
        <source>Answer from your local documents: choose the collections</source>
        <translation>Trả lời từ tài liệu trên máy của bạn: chọn các bộ sưu tập</translation>
    </message>
    <message>
        <source>Documents this chat answers from</source>
        <translation>Tài liệu mà cuộc trò chuyện này dựa vào để trả lời</translation>
    </message>
    <message>
        <source>No collections yet: add some on the Documents page</source>
        <translation>Chưa có bộ sưu tập nào: hãy thêm ở trang Tài liệu</translation>
    </message>
    <message>
        <source>Documents: {chosen}</source>
        <translation>Tài liệu: {chosen}</translation>
    </message>
    <message>
        <source>Documents: none</source>
        <translation>Tài liệu: không có</translation>
    </message>
    <message>
        <source>Documents: {checked}</source>
        <translation>Tài liệu: {checked}</translation>
    </message>
</context>
<context>
    <name>DialogPrompts</name>
    <message>
        <source>Answer locally</source>
        <translation>Trả lời trên máy</translation>
    </message>
    <message>
        <source>Ask Claude</source>
        <translation>Hỏi Claude</translation>
    </message>
    <message>
        <source>Where should the reply come from?</source>
        <translation>Câu trả lời nên đến từ đâu?</translation>
    </message>
    <message>
        <source>Answer on this computer, or send this conversation to Claude?</source>
        <translation>Trả lời trên máy này, hay gửi cuộc trò chuyện này đến Claude?</translation>
    </message>
</context>
<context>
    <name>DocumentDialogs</name>
    <message>
        <source>Add files to the collection</source>
        <translation>Thêm tệp vào bộ sưu tập</translation>
    </message>
    <message>
        <source>Add a folder to the collection</source>
        <translation>Thêm một thư mục vào bộ sưu tập</translation>
    </message>
    <message>
        <source>Use a GGUF embedding model</source>
        <translation>Dùng một mô hình nhúng GGUF</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>Mô hình GGUF (*.gguf);;Mọi tệp (*)</translation>
    </message>
</context>
<context>
    <name>DocumentsPage</name>
    <message>
        <source>indexed</source>
        <translation>đã lập chỉ mục</translation>
    </message>
    <message>
        <source>indexed in part</source>
        <translation>lập chỉ mục một phần</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>bỏ qua</translation>
    </message>
    <message>
        <source>{chunks_done:,} chunks</source>
        <translation>{chunks_done:,} đoạn</translation>
    </message>
    <message>
        <source>about {left} left</source>
        <translation>còn khoảng {left}</translation>
    </message>
    <message>
        <source>Collections of your own files, indexed on this computer. Attach one to a chat (the Documents button under Send) and replies answer from it, with their sources.</source>
        <translation>Các bộ sưu tập tệp của riêng bạn, được lập chỉ mục trên máy này. Gắn một bộ vào cuộc trò chuyện (nút Tài liệu dưới nút Gửi) và câu trả lời sẽ dựa vào đó, kèm theo nguồn.</translation>
    </message>
    <message>
        <source>Download all-MiniLM-L6-v2</source>
        <translation>Tải all-MiniLM-L6-v2</translation>
    </message>
    <message>
        <source>A small embedding model from the catalog (about 46 MB)</source>
        <translation>Một mô hình nhúng nhỏ trong danh mục (khoảng 46 MB)</translation>
    </message>
    <message>
        <source>Use a GGUF file…</source>
        <translation>Dùng một tệp GGUF…</translation>
    </message>
    <message>
        <source>New collection…</source>
        <translation>Bộ sưu tập mới…</translation>
    </message>
    <message>
        <source>Add files…</source>
        <translation>Thêm tệp…</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>Thêm thư mục…</translation>
    </message>
    <message>
        <source>Rescan</source>
        <translation>Quét lại</translation>
    </message>
    <message>
        <source>Read new and changed files again (only what changed)</source>
        <translation>Đọc lại các tệp mới và đã thay đổi (chỉ phần thay đổi)</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>Gỡ bỏ…</translation>
    </message>
    <message>
        <source>Delete the collection and its index (your files stay)</source>
        <translation>Xóa bộ sưu tập và chỉ mục của nó (tệp của bạn vẫn giữ nguyên)</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Tệp</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Trạng thái</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>Đoạn</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Lý do</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Tạm dừng</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Dừng</translation>
    </message>
    <message>
        <source>Stop indexing; what is done is kept, a rescan goes on</source>
        <translation>Dừng lập chỉ mục; phần đã xong được giữ, lần quét lại sẽ làm tiếp</translation>
    </message>
    <message>
        <source>Collections</source>
        <translation>Bộ sưu tập</translation>
    </message>
    <message>
        <source>Files of the collection</source>
        <translation>Tệp của bộ sưu tập</translation>
    </message>
    <message>
        <source>Indexing progress</source>
        <translation>Tiến độ lập chỉ mục</translation>
    </message>
    <message>
        <source>&lt;b&gt;{error}&lt;/b&gt; Documents are indexed with an embedding model, on this computer. Download the small default from the catalog, or use a GGUF embedding model you have.</source>
        <translation>&lt;b&gt;{error}&lt;/b&gt; Tài liệu được lập chỉ mục bằng một mô hình nhúng, ngay trên máy này. Hãy tải mô hình nhỏ mặc định từ danh mục, hoặc dùng một mô hình nhúng GGUF bạn đã có.</translation>
    </message>
    <message>
        <source>New collection</source>
        <translation>Bộ sưu tập mới</translation>
    </message>
    <message>
        <source>Name of the collection:</source>
        <translation>Tên bộ sưu tập:</translation>
    </message>
    <message>
        <source>Remove the collection?</source>
        <translation>Gỡ bộ sưu tập?</translation>
    </message>
    <message>
        <source>Remove “{name}” and delete its index? Your files are not touched; chats that use it no longer answer from it.</source>
        <translation>Gỡ “{name}” và xóa chỉ mục của nó? Tệp của bạn không bị động đến; các cuộc trò chuyện dùng nó sẽ không còn dựa vào nó để trả lời.</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Tiếp tục</translation>
    </message>
    <message>
        <source>Indexing {value}: {progress}</source>
        <translation>Đang lập chỉ mục {value}: {progress}</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>đã dừng</translation>
    </message>
    <message>
        <source>up to date</source>
        <translation>đã cập nhật</translation>
    </message>
    <message>
        <source>{indexed} read</source>
        <translation>đã đọc {indexed}</translation>
    </message>
    <message>
        <source>{chunks} chunks embedded</source>
        <translation>đã nhúng {chunks} đoạn</translation>
    </message>
    <message>
        <source>{relinked} moved files re-linked</source>
        <translation>đã liên kết lại {relinked} tệp bị di chuyển</translation>
    </message>
    <message>
        <source>{skipped} skipped (see why in the list)</source>
        <translation>bỏ qua {skipped} (xem lý do trong danh sách)</translation>
    </message>
    <message>
        <source>“{name}” {state}: {parts}.</source>
        <translation>“{name}” {state}: {parts}.</translation>
    </message>
    <message>
        <source>Downloading… {value}%</source>
        <translation>Đang tải… {value}%</translation>
    </message>
</context>
<context>
    <name>DocumentsService</name>
    <message>
        <source>Hearth is closing; the embedding model was not loaded.</source>
        <translation>Hearth đang đóng; mô hình nhúng chưa được nạp.</translation>
    </message>
</context>
<context>
    <name>DownloadControls</name>
    <message>
        <source>starting…</source>
        <translation>đang bắt đầu…</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Tạm dừng</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>, {seconds:,.0f} s left</source>
        <translation>, còn {seconds:,.0f} giây</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Tiếp tục</translation>
    </message>
</context>
<context>
    <name>FirstRun</name>
    <message>
        <source>no usable GPU</source>
        <translation>không có GPU dùng được</translation>
    </message>
    <message>
        <source>This computer: {ram_total} RAM · {where} · %n CPU core</source>
        <translation>Máy này: {ram_total} RAM · {where} · %n nhân CPU</translation>
    </message>
    <message>
        <source>This computer: {ram_total} RAM · {where} · %n CPU cores</source>
        <translation>Máy này: {ram_total} RAM · {where} · %n nhân CPU</translation>
    </message>
    <message>
        <source>Download {name} ({quant}, {size}, about {speed:.0f} tokens/s here)</source>
        <translation>Tải {name} ({quant}, {size}, khoảng {speed:.0f} token/giây trên máy này)</translation>
    </message>
    <message>
        <source>Download {name} ({quant}, {size})</source>
        <translation>Tải {name} ({quant}, {size})</translation>
    </message>
    <message>
        <source>&lt;h2&gt;Hearth needs a model to answer&lt;/h2&gt;</source>
        <translation>&lt;h2&gt;Hearth cần một mô hình để trả lời&lt;/h2&gt;</translation>
    </message>
    <message>
        <source>Looking at this computer…</source>
        <translation>Đang xem cấu hình máy này…</translation>
    </message>
    <message>
        <source>Finding the model that suits this computer…</source>
        <translation>Đang tìm mô hình hợp với máy này…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>Import a .gguf file…</source>
        <translation>Nhập tệp .gguf…</translation>
    </message>
    <message>
        <source>Browse the library</source>
        <translation>Duyệt thư viện</translation>
    </message>
    <message>
        <source>No catalog model runs well on this computer</source>
        <translation>Không có mô hình nào trong danh mục chạy tốt trên máy này</translation>
    </message>
    <message>
        <source>Import a small .gguf file you trust, or look in the library for the smallest models.</source>
        <translation>Hãy nhập một tệp .gguf nhỏ mà bạn tin cậy, hoặc tìm các mô hình nhỏ nhất trong thư viện.</translation>
    </message>
    <message>
        <source>The best model that answers at reading speed (at least {comfortable_speed:.0f} tokens/s) on this computer. {description}</source>
        <translation>Mô hình tốt nhất trả lời kịp tốc độ đọc (ít nhất {comfortable_speed:.0f} token/giây) trên máy này. {description}</translation>
    </message>
    <message>
        <source>Nothing in the catalog reaches reading speed ({comfortable_speed:.0f} tokens/s) here; this is the fastest. Replies will come slowly.</source>
        <translation>Không có mô hình nào trong danh mục đạt tốc độ đọc ({comfortable_speed:.0f} token/giây) trên máy này; đây là mô hình nhanh nhất. Câu trả lời sẽ đến chậm.</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>đang bắt đầu…</translation>
    </message>
    <message>
        <source>, {seconds:,.0f} s left</source>
        <translation>, còn {seconds:,.0f} giây</translation>
    </message>
    <message>
        <source>{done_bytes} of {total_bytes} · {speed_bps}/s{eta}</source>
        <translation>{done_bytes} trên {total_bytes} · {speed_bps}/giây{eta}</translation>
    </message>
    <message>
        <source>Downloaded: loading the model…</source>
        <translation>Đã tải xong: đang nạp mô hình…</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <source>%n new chat</source>
        <translation>%n cuộc trò chuyện mới</translation>
    </message>
    <message>
        <source>%n new chats</source>
        <translation>%n cuộc trò chuyện mới</translation>
    </message>
    <message>
        <source>%n chat</source>
        <translation>%n cuộc trò chuyện</translation>
    </message>
    <message>
        <source>%n chats</source>
        <translation>%n cuộc trò chuyện</translation>
    </message>
    <message>
        <source>%n message</source>
        <translation>%n tin nhắn</translation>
    </message>
    <message>
        <source>%n messages</source>
        <translation>%n tin nhắn</translation>
    </message>
    <message>
        <source>{label}: {chats}, {messages}. Those already in the history are skipped.</source>
        <translation>{label}: {chats}, {messages}. Những cuộc trò chuyện đã có trong lịch sử sẽ được bỏ qua.</translation>
    </message>
    <message>
        <source>{label}: {chats}, {messages}.</source>
        <translation>{label}: {chats}, {messages}.</translation>
    </message>
    <message>
        <source>{chats} imported before will be skipped.</source>
        <translation>{chats} đã nhập trước đây sẽ được bỏ qua.</translation>
    </message>
    <message>
        <source>(untitled)</source>
        <translation>(chưa đặt tên)</translation>
    </message>
    <message>
        <source>  … and {count} more</source>
        <translation>  … và {count} cuộc nữa</translation>
    </message>
    <message>
        <source>Imported {chats} ({messages}).</source>
        <translation>Đã nhập {chats} ({messages}).</translation>
    </message>
    <message>
        <source>Import chats</source>
        <translation>Nhập cuộc trò chuyện</translation>
    </message>
    <message>
        <source>A file or folder another app keeps its chats in</source>
        <translation>Tệp hoặc thư mục nơi một ứng dụng khác lưu các cuộc trò chuyện</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>Tệp…</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>Thư mục…</translation>
    </message>
    <message>
        <source>Detect automatically</source>
        <translation>Tự nhận dạng</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>Từ:</translation>
    </message>
    <message>
        <source>App:</source>
        <translation>Ứng dụng:</translation>
    </message>
    <message>
        <source>GPT4All, LM Studio, Jan, Ollama, Open WebUI and ChatGPT exports can be imported.</source>
        <translation>Có thể nhập dữ liệu xuất từ GPT4All, LM Studio, Jan, Ollama, Open WebUI và ChatGPT.</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>Nhập</translation>
    </message>
    <message>
        <source>Import chats from a file</source>
        <translation>Nhập cuộc trò chuyện từ một tệp</translation>
    </message>
    <message>
        <source>Import chats from a folder</source>
        <translation>Nhập cuộc trò chuyện từ một thư mục</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>Đang đọc…</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>Đang nhập…</translation>
    </message>
</context>
<context>
    <name>LibraryPage</name>
    <message>
        <source>{gpu_layers}/{total_layers} layers on GPU</source>
        <translation>{gpu_layers}/{total_layers} lớp trên GPU</translation>
    </message>
    <message>
        <source>does not fit</source>
        <translation>không vừa</translation>
    </message>
    <message>
        <source>GPU layers: {layers} of {total}</source>
        <translation>Số lớp GPU: {layers} trên {total}</translation>
    </message>
    <message>
        <source>Memory: {gpu} on the GPU, {ram} in RAM (weights {weights}, context cache {kv})</source>
        <translation>Bộ nhớ: {gpu} trên GPU, {ram} trong RAM (trọng số {weights}, bộ nhớ đệm ngữ cảnh {kv})</translation>
    </message>
    <message>
        <source>Largest context that fits: {context:,} tokens</source>
        <translation>Ngữ cảnh lớn nhất vừa được: {context:,} token</translation>
    </message>
    <message>
        <source>Quality loss: {label}</source>
        <translation>Mức giảm chất lượng: {label}</translation>
    </message>
    <message>
        <source>Approximate: this architecture&apos;s figures are estimated.</source>
        <translation>Gần đúng: số liệu của kiến trúc này là ước tính.</translation>
    </message>
    <message>
        <source>{name} ({size}) does not fit on this computer: {sentence}

It will most likely fail to load. Download it anyway?</source>
        <translation>{name} ({size}) không vừa máy này: {sentence}

Rất có thể nó sẽ không nạp được. Vẫn tải xuống?</translation>
    </message>
    <message>
        <source>{name} ({size}) would be very slow here: about {speed:.1f} tokens/s, below {min_usable_speed:.0f} tokens/s, so a short answer takes minutes.

{sentence}

Download it anyway?</source>
        <translation>{name} ({size}) sẽ chạy rất chậm trên máy này: khoảng {speed:.1f} token/giây, dưới {min_usable_speed:.0f} token/giây, nên một câu trả lời ngắn cũng mất vài phút.

{sentence}

Vẫn tải xuống?</translation>
    </message>
    <message>
        <source>Looking at this computer…</source>
        <translation>Đang xem cấu hình máy này…</translation>
    </message>
    <message>
        <source>Recommended models</source>
        <translation>Mô hình được đề xuất</translation>
    </message>
    <message>
        <source>Model / file</source>
        <translation>Mô hình / tệp</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Kích thước</translation>
    </message>
    <message>
        <source>Here</source>
        <translation>Tại đây</translation>
    </message>
    <message>
        <source>★ Recommended for this computer.</source>
        <translation>★ Được đề xuất cho máy tính này.</translation>
    </message>
    <message>
        <source>Speed</source>
        <translation>Tốc độ</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>Chất lượng</translation>
    </message>
    <message>
        <source>★ marks the file Hearth recommends for this computer.</source>
        <translation>★ đánh dấu tệp Hearth đề xuất cho máy tính này.</translation>
    </message>
    <message>
        <source>A rough estimate of the reply speed on this computer, made before the download; once a file has run here, its measured speed. Hover a file for the numbers behind it.</source>
        <translation>Ước tính sơ bộ tốc độ trả lời trên máy tính này, đưa ra trước khi tải xuống; khi một tệp đã chạy ở đây thì là tốc độ đo được. Di chuột lên một tệp để xem các con số đằng sau.</translation>
    </message>
    <message>
        <source>Search Hugging Face for GGUF models</source>
        <translation>Tìm mô hình GGUF trên Hugging Face</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Tìm</translation>
    </message>
    <message>
        <source>Hub search results</source>
        <translation>Kết quả tìm kiếm trên Hub</translation>
    </message>
    <message>
        <source>Repository / file</source>
        <translation>Kho / tệp</translation>
    </message>
    <message>
        <source>Search the Hub</source>
        <translation>Tìm trên Hub</translation>
    </message>
    <message>
        <source>Installed models</source>
        <translation>Mô hình đã cài</translation>
    </message>
    <message>
        <source>Load</source>
        <translation>Nạp</translation>
    </message>
    <message>
        <source>Show on disk</source>
        <translation>Hiện trên đĩa</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>Xóa…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>Cài đặt…</translation>
    </message>
    <message>
        <source>This model&apos;s own settings and chat template</source>
        <translation>Cài đặt và mẫu trò chuyện riêng của mô hình này</translation>
    </message>
    <message>
        <source>Import a .gguf file…</source>
        <translation>Nhập tệp .gguf…</translation>
    </message>
    <message>
        <source>Installed</source>
        <translation>Đã cài</translation>
    </message>
    <message>
        <source>no usable GPU</source>
        <translation>không có GPU dùng được</translation>
    </message>
    <message>
        <source>&lt;b&gt;This computer:&lt;/b&gt; {cpu_model}, {ram_total} RAM ({ram_available} free), {where}.</source>
        <translation>&lt;b&gt;Máy này:&lt;/b&gt; {cpu_model}, {ram_total} RAM ({ram_available} còn trống), {where}.</translation>
    </message>
    <message>
        <source>&lt;br&gt;&lt;b&gt;No catalog model runs well on this computer.&lt;/b&gt;</source>
        <translation>&lt;br&gt;&lt;b&gt;Không có mô hình nào trong danh mục chạy tốt trên máy này.&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;br&gt;&lt;b&gt;Recommended to start:&lt;/b&gt; {name} {quant} — {why}</source>
        <translation>&lt;br&gt;&lt;b&gt;Đề xuất để bắt đầu:&lt;/b&gt; {name} {quant} — {why}</translation>
    </message>
    <message>
        <source>&lt;br&gt;{ram} of RAM is kept for the embedding model of your local documents.</source>
        <translation>&lt;br&gt;{ram} RAM được dành cho mô hình nhúng của tài liệu trên máy bạn.</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Welcome to Hearth&lt;/h3&gt;</source>
        <translation>&lt;h3&gt;Chào mừng đến với Hearth&lt;/h3&gt;</translation>
    </message>
    <message>
        <source>&lt;br&gt;Download the recommended model below, or import a .gguf you already have.</source>
        <translation>&lt;br&gt;Hãy tải mô hình được đề xuất bên dưới, hoặc nhập một tệp .gguf bạn đã có.</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>Tải xuống</translation>
    </message>
    <message>
        <source>Download anyway?</source>
        <translation>Vẫn tải xuống?</translation>
    </message>
    <message>
        <source>No GGUF models for “{text}”.</source>
        <translation>Không có mô hình GGUF nào cho “{text}”.</translation>
    </message>
    <message>
        <source>{why} From Hearth&apos;s catalog:</source>
        <translation>{why} Từ danh mục của Hearth:</translation>
    </message>
    <message>
        <source>{why} Nothing in Hearth&apos;s catalog matches “{text}”.</source>
        <translation>{why} Không có gì trong danh mục của Hearth khớp với “{text}”.</translation>
    </message>
    <message>
        <source>Reading this file&apos;s header to see how it runs here…</source>
        <translation>Đang đọc phần đầu của tệp để xem nó chạy thế nào trên máy này…</translation>
    </message>
    <message>
        <source>No GGUF files in this repository.</source>
        <translation>Kho này không có tệp GGUF nào.</translation>
    </message>
    <message>
        <source>Hearth could not read this file&apos;s header.</source>
        <translation>Hearth không đọc được phần đầu của tệp này.</translation>
    </message>
    <message>
        <source>No models yet: download one, or import a .gguf file.</source>
        <translation>Chưa có mô hình: hãy tải một mô hình, hoặc nhập tệp .gguf.</translation>
    </message>
    <message>
        <source>Forget model?</source>
        <translation>Quên mô hình?</translation>
    </message>
    <message>
        <source>Forget {name} ({size})?</source>
        <translation>Quên {name} ({size})?</translation>
    </message>
    <message>
        <source>Delete model?</source>
        <translation>Xóa mô hình?</translation>
    </message>
    <message>
        <source>Delete {name} ({size})?</source>
        <translation>Xóa {name} ({size})?</translation>
    </message>
    <message>
        <source>Import model</source>
        <translation>Nhập mô hình</translation>
    </message>
    <message>
        <source>Copy the file into Hearth&apos;s models folder?

Yes: copy it (uses disk space). No: use it where it is.</source>
        <translation>Sao chép tệp vào thư mục mô hình của Hearth?

Có: sao chép (tốn dung lượng đĩa). Không: dùng tệp ngay tại chỗ.</translation>
    </message>
    <message>
        <source>used where it is</source>
        <translation>dùng tại chỗ</translation>
    </message>
    <message>
        <source>copied into the models folder</source>
        <translation>đã sao chép vào thư mục mô hình</translation>
    </message>
    <message>
        <source>Imported {name} ({how}).</source>
        <translation>Đã nhập {name} ({how}).</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Chat</source>
        <translation>Trò chuyện</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>Tài liệu</translation>
    </message>
    <message>
        <source>Library</source>
        <translation>Thư viện</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Cài đặt</translation>
    </message>
    <message>
        <source>With Claude turned on, Hearth can send a conversation to Anthropic&apos;s Claude API (api.anthropic.com) — but only when you choose to, for a message or a conversation.

What is sent: that conversation&apos;s messages and its system prompt, nothing else. Before each request you see exactly what will be sent, to which model, and what it costs. Your API key stays in the system keychain.

Turn Claude on?</source>
        <translation>Khi bật Claude, Hearth có thể gửi một cuộc trò chuyện đến API Claude của Anthropic (api.anthropic.com) — nhưng chỉ khi bạn chọn, cho một tin nhắn hoặc một cuộc trò chuyện.

Những gì được gửi: các tin nhắn của cuộc trò chuyện đó và lời nhắc hệ thống của nó, không gì khác. Trước mỗi yêu cầu, bạn thấy chính xác những gì sẽ được gửi, đến mô hình nào và tốn bao nhiêu. Khóa API của bạn vẫn nằm trong kho khóa của hệ thống.

Bật Claude?</translation>
    </message>
    <message>
        <source>Hearth</source>
        <translation>Hearth</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Máy chủ</translation>
    </message>
    <message>
        <source>Remote servers</source>
        <translation>Máy chủ từ xa</translation>
    </message>
    <message>
        <source>Show the {name} page ({nav_keys})</source>
        <translation>Hiện trang {name} ({nav_keys})</translation>
    </message>
    <message>
        <source>Show or hide the chat list (Ctrl+Shift+S)</source>
        <translation>Hiện hoặc ẩn danh sách trò chuyện (Ctrl+Shift+S)</translation>
    </message>
    <message>
        <source>Chat list</source>
        <translation>Danh sách trò chuyện</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Trên máy</translation>
    </message>
    <message>
        <source>Backups</source>
        <translation>Sao lưu</translation>
    </message>
    <message>
        <source>Search chats</source>
        <translation>Tìm cuộc trò chuyện</translation>
    </message>
    <message>
        <source>Stop the reply</source>
        <translation>Dừng câu trả lời</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Gửi</translation>
    </message>
    <message>
        <source>Stop the reply before changing the model.</source>
        <translation>Hãy dừng câu trả lời trước khi đổi mô hình.</translation>
    </message>
    <message>
        <source>another computer: a preview before each message</source>
        <translation>máy tính khác: xem trước trước mỗi tin nhắn</translation>
    </message>
    <message>
        <source>this computer</source>
        <translation>máy này</translation>
    </message>
    <message>
        <source>Note: {notice}</source>
        <translation>Lưu ý: {notice}</translation>
    </message>
    <message>
        <source>context {context_length:,}</source>
        <translation>ngữ cảnh {context_length:,}</translation>
    </message>
    <message>
        <source>Your local documents: collections a chat can answer from (Ctrl+Shift+D)</source>
        <translation>Tài liệu trên máy của bạn: các bộ sưu tập mà cuộc trò chuyện có thể dựa vào (Ctrl+Shift+D)</translation>
    </message>
    <message>
        <source>Nothing to export yet: this chat has no messages.</source>
        <translation>Chưa có gì để xuất: cuộc trò chuyện này chưa có tin nhắn.</translation>
    </message>
    <message>
        <source>Export this chat</source>
        <translation>Xuất cuộc trò chuyện này</translation>
    </message>
    <message>
        <source>Export as:</source>
        <translation>Xuất dạng:</translation>
    </message>
    <message>
        <source>Markdown</source>
        <translation>Markdown</translation>
    </message>
    <message>
        <source>JSON</source>
        <translation>JSON</translation>
    </message>
    <message>
        <source>Restored “{title}”.</source>
        <translation>Đã khôi phục “{title}”.</translation>
    </message>
    <message>
        <source>Use Claude?</source>
        <translation>Dùng Claude?</translation>
    </message>
    <message>
        <source>The settings could not be saved: {error}</source>
        <translation>Không lưu được cài đặt: {error}</translation>
    </message>
    <message>
        <source>Check that the config folder is writable.</source>
        <translation>Hãy kiểm tra xem thư mục cấu hình có ghi được không.</translation>
    </message>
    <message>
        <source>Reload the model?</source>
        <translation>Nạp lại mô hình?</translation>
    </message>
    <message>
        <source>These settings take effect when the model is loaded again. Reload it now?</source>
        <translation>Các cài đặt này có hiệu lực khi mô hình được nạp lại. Nạp lại ngay bây giờ?</translation>
    </message>
    <message>
        <source>{remote} was removed</source>
        <translation>{remote} đã bị gỡ</translation>
    </message>
    <message>
        <source>{tokens_per_second:.1f} tok/s</source>
        <translation>{tokens_per_second:.1f} token/giây</translation>
    </message>
    <message>
        <source>context {used:,} / {context_length:,} tokens</source>
        <translation>ngữ cảnh {used:,} / {context_length:,} token</translation>
    </message>
    <message>
        <source>Local · {name}</source>
        <translation>Trên máy · {name}</translation>
    </message>
    <message>
        <source>{rate:.1f} tok/s</source>
        <translation>{rate:.1f} token/giây</translation>
    </message>
    <message>
        <source>{value:,} tokens sent, {value2:,} received</source>
        <translation>đã gửi {value:,} token, nhận {value2:,}</translation>
    </message>
</context>
<context>
    <name>MenuBar</name>
    <message>
        <source>&lt;h3&gt;Hearth {version}&lt;/h3&gt;&lt;p&gt;A private AI assistant on your own computer: models run here, with llama.cpp; nothing leaves the machine unless you send it to Claude yourself.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;Hearth {version}&lt;/h3&gt;&lt;p&gt;Trợ lý AI riêng tư trên chính máy tính của bạn: mô hình chạy ngay tại đây, bằng llama.cpp; không có gì rời khỏi máy trừ khi bạn tự gửi nó đến Claude.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Tệp</translation>
    </message>
    <message>
        <source>&amp;New chat</source>
        <translation>Trò chuyện &amp;mới</translation>
    </message>
    <message>
        <source>&amp;Import…</source>
        <translation>&amp;Nhập…</translation>
    </message>
    <message>
        <source>Import a &amp;model (.gguf)…</source>
        <translation>Nhập một &amp;mô hình (.gguf)…</translation>
    </message>
    <message>
        <source>&amp;Export this chat…</source>
        <translation>&amp;Xuất cuộc trò chuyện này…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>T&amp;hoát</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Sửa</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Hoàn tác</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>&amp;Làm lại</translation>
    </message>
    <message>
        <source>Cu&amp;t</source>
        <translation>&amp;Cắt</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Sao chép</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>&amp;Dán</translation>
    </message>
    <message>
        <source>Select &amp;all</source>
        <translation>Chọn &amp;tất cả</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Xem</translation>
    </message>
    <message>
        <source>&amp;Chat</source>
        <translation>&amp;Trò chuyện</translation>
    </message>
    <message>
        <source>&amp;Documents</source>
        <translation>Tài &amp;liệu</translation>
    </message>
    <message>
        <source>&amp;Library</source>
        <translation>&amp;Thư viện</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>&amp;Cài đặt</translation>
    </message>
    <message>
        <source>Chat l&amp;ist</source>
        <translation>&amp;Danh sách trò chuyện</translation>
    </message>
    <message>
        <source>Recently &amp;deleted chats…</source>
        <translation>Cuộc trò chuyện &amp;đã xóa gần đây…</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Trợ giúp</translation>
    </message>
    <message>
        <source>&amp;About Hearth</source>
        <translation>&amp;Giới thiệu Hearth</translation>
    </message>
    <message>
        <source>More menus</source>
        <translation>Thêm menu</translation>
    </message>
    <message>
        <source>About Hearth</source>
        <translation>Giới thiệu Hearth</translation>
    </message>
</context>
<context>
    <name>MessageView</name>
    <message>
        <source>Previous version</source>
        <translation>Phiên bản trước</translation>
    </message>
    <message>
        <source>Next version</source>
        <translation>Phiên bản sau</translation>
    </message>
    <message>
        <source>Copy this message</source>
        <translation>Sao chép tin nhắn này</translation>
    </message>
    <message>
        <source>Edit and resend (the old branch is kept)</source>
        <translation>Sửa và gửi lại (nhánh cũ được giữ)</translation>
    </message>
    <message>
        <source>Write this reply again</source>
        <translation>Viết lại câu trả lời này</translation>
    </message>
    <message>
        <source>Reasoning ▸</source>
        <translation>Suy luận ▸</translation>
    </message>
    <message>
        <source>Sources of this reply</source>
        <translation>Nguồn của câu trả lời này</translation>
    </message>
    <message>
        <source>Sources: {links}</source>
        <translation>Nguồn: {links}</translation>
    </message>
    <message>
        <source>&lt;b&gt;You&lt;/b&gt;</source>
        <translation>&lt;b&gt;Bạn&lt;/b&gt;</translation>
    </message>
    <message>
        <source>local</source>
        <translation>trên máy</translation>
    </message>
    <message>
        <source>&lt;b&gt;{source}&lt;/b&gt; &lt;span style=&apos;color:gray&apos;&gt;({backend})&lt;/span&gt;</source>
        <translation>&lt;b&gt;{source}&lt;/b&gt; &lt;span style=&apos;color:gray&apos;&gt;({backend})&lt;/span&gt;</translation>
    </message>
    <message>
        <source>● generating…</source>
        <translation>● đang viết…</translation>
    </message>
    <message>
        <source>⚠ interrupted by an error — {value}</source>
        <translation>⚠ bị gián đoạn do lỗi — {value}</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>thất bại</translation>
    </message>
    <message>
        <source>⚠ the model stopped unexpectedly — what was written so far is kept</source>
        <translation>⚠ mô hình dừng bất ngờ — phần đã viết được giữ</translation>
    </message>
    <message>
        <source>{completion_tokens} tokens</source>
        <translation>{completion_tokens} token</translation>
    </message>
    <message>
        <source>{tokens_per_second:.1f} tok/s</source>
        <translation>{tokens_per_second:.1f} token/giây</translation>
    </message>
    <message>
        <source>first token {ttft:.2f} s</source>
        <translation>token đầu {ttft:.2f} giây</translation>
    </message>
    <message>
        <source>■ stopped by you</source>
        <translation>■ bạn đã dừng</translation>
    </message>
    <message>
        <source>⚠ not finished: Hearth closed while this was written — what arrived is kept</source>
        <translation>⚠ chưa xong: Hearth đã đóng khi đang viết — phần đã nhận được giữ lại</translation>
    </message>
    <message>
        <source>✂ cut at the length limit (Max tokens in Settings)</source>
        <translation>✂ bị cắt ở giới hạn độ dài (Số token tối đa trong Cài đặt)</translation>
    </message>
    <message>
        <source>✂ cut: the context window is full</source>
        <translation>✂ bị cắt: cửa sổ ngữ cảnh đã đầy</translation>
    </message>
    <message>
        <source>Reasoning ▾</source>
        <translation>Suy luận ▾</translation>
    </message>
    <message>
        <source>The reply failed</source>
        <translation>Câu trả lời thất bại</translation>
    </message>
    <message>
        <source>The reply stopped</source>
        <translation>Câu trả lời đã dừng</translation>
    </message>
    <message>
        <source>Reply finished</source>
        <translation>Câu trả lời đã xong</translation>
    </message>
</context>
<context>
    <name>ModelBar</name>
    <message>
        <source>Open a GGUF file…</source>
        <translation>Mở tệp GGUF…</translation>
    </message>
    <message>
        <source>Settings for this model…</source>
        <translation>Cài đặt cho mô hình này…</translation>
    </message>
    <message>
        <source>The loaded model&apos;s own context, GPU layers, sampling, system prompt and chat template</source>
        <translation>Ngữ cảnh, số lớp GPU, cách lấy mẫu, lời nhắc hệ thống và mẫu trò chuyện riêng của mô hình đã nạp</translation>
    </message>
    <message>
        <source>Get a model…</source>
        <translation>Tải một mô hình…</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>Mô hình:</translation>
    </message>
    <message>
        <source>Choose the model that answers: on this computer, or on a server you added</source>
        <translation>Chọn mô hình trả lời: trên máy này, hoặc trên một máy chủ bạn đã thêm</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>Chưa nạp mô hình</translation>
    </message>
    <message>
        <source>Choose a model…</source>
        <translation>Chọn một mô hình…</translation>
    </message>
    <message>
        <source>On {remote}:</source>
        <translation>Trên {remote}:</translation>
    </message>
    <message>
        <source>Loading {name}…</source>
        <translation>Đang nạp {name}…</translation>
    </message>
    <message>
        <source>GPU ({layers}/{layers} layers)</source>
        <translation>GPU ({layers}/{layers} lớp)</translation>
    </message>
    <message>
        <source>GPU {gpu_layers}/{layers} layers, rest on CPU</source>
        <translation>GPU {gpu_layers}/{layers} lớp, phần còn lại trên CPU</translation>
    </message>
    <message>
        <source>uses ~{ram} of RAM and ~{gpu} on the GPU</source>
        <translation>dùng ~{ram} RAM và ~{gpu} trên GPU</translation>
    </message>
    <message>
        <source>uses ~{ram} of RAM</source>
        <translation>dùng ~{ram} RAM</translation>
    </message>
    <message>
        <source>{st_size} of weights</source>
        <translation>{st_size} trọng số</translation>
    </message>
    <message>
        <source>Estimated: weights {weights_bytes}, context cache {kv_bytes}, work buffers {compute_bytes}.</source>
        <translation>Ước tính: trọng số {weights_bytes}, bộ nhớ đệm ngữ cảnh {kv_bytes}, bộ đệm tính toán {compute_bytes}.</translation>
    </message>
    <message>
        <source>Not loaded: {message}</source>
        <translation>Chưa nạp: {message}</translation>
    </message>
</context>
<context>
    <name>ModelSettingsController</name>
    <message>
        <source>Reload the model?</source>
        <translation>Nạp lại mô hình?</translation>
    </message>
    <message>
        <source>The context, GPU layers and chat template take effect when the model is loaded again. Reload it now?</source>
        <translation>Ngữ cảnh, số lớp GPU và mẫu trò chuyện có hiệu lực khi mô hình được nạp lại. Nạp lại ngay bây giờ?</translation>
    </message>
</context>
<context>
    <name>ModelSettingsDialog</name>
    <message>
        <source>Context length</source>
        <translation>Độ dài ngữ cảnh</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>Số lớp trên GPU</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Nhiệt độ</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Min-p</source>
        <translation>Min-p</translation>
    </message>
    <message>
        <source>Repeat penalty</source>
        <translation>Phạt lặp từ</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>Số token tối đa</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>Lời nhắc hệ thống</translation>
    </message>
    <message>
        <source>{template} (in place of the file&apos;s own)</source>
        <translation>{template} (thay cho mẫu của tệp)</translation>
    </message>
    <message>
        <source>Automatic: the file&apos;s own, else chosen from its architecture</source>
        <translation>Tự động: mẫu của tệp, nếu không có thì chọn theo kiến trúc</translation>
    </message>
    <message>
        <source>Hearth&apos;s plain User:/Assistant: format</source>
        <translation>Định dạng đơn giản User:/Assistant: của Hearth</translation>
    </message>
    <message>
        <source>Settings for {name}</source>
        <translation>Cài đặt cho {name}</translation>
    </message>
    <message>
        <source>What {name} uses instead of the app&apos;s settings. Untick a row to follow the app&apos;s value.</source>
        <translation>Những gì {name} dùng thay cho cài đặt của ứng dụng. Bỏ chọn một dòng để theo giá trị của ứng dụng.</translation>
    </message>
    <message>
        <source>Own value</source>
        <translation>Giá trị riêng</translation>
    </message>
    <message>
        <source>Own {setting} for this model</source>
        <translation>{setting} riêng cho mô hình này</translation>
    </message>
    <message>
        <source>Chat template</source>
        <translation>Mẫu trò chuyện</translation>
    </message>
    <message>
        <source>Follow the app&apos;s settings</source>
        <translation>Theo cài đặt của ứng dụng</translation>
    </message>
    <message>
        <source>This file has its own chat template; the model is using its template now.</source>
        <translation>Tệp này có mẫu trò chuyện riêng; mô hình đang dùng mẫu đó.</translation>
    </message>
    <message>
        <source>This file has its own chat template; the model is using the plain format now.</source>
        <translation>Tệp này có mẫu trò chuyện riêng; mô hình đang dùng định dạng đơn giản.</translation>
    </message>
    <message>
        <source>This file has no chat template; the model is using its template now.</source>
        <translation>Tệp này không có mẫu trò chuyện; mô hình đang dùng mẫu đã chọn.</translation>
    </message>
    <message>
        <source>This file has no chat template; the model is using the plain format now.</source>
        <translation>Tệp này không có mẫu trò chuyện; mô hình đang dùng định dạng đơn giản.</translation>
    </message>
</context>
<context>
    <name>QLineEdit</name>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Hoàn tác</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>&amp;Làm lại</translation>
    </message>
    <message>
        <source>Cu&amp;t</source>
        <translation>&amp;Cắt</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Sao chép</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>&amp;Dán</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Select All</source>
        <translation>Chọn tất cả</translation>
    </message>
</context>
<context>
    <name>QPlatformTheme</name>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Lưu</translation>
    </message>
    <message>
        <source>Save All</source>
        <translation>Lưu tất cả</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Mở</translation>
    </message>
    <message>
        <source>&amp;Yes</source>
        <translation>&amp;Có</translation>
    </message>
    <message>
        <source>Yes to &amp;All</source>
        <translation>Có cho &amp;tất cả</translation>
    </message>
    <message>
        <source>&amp;No</source>
        <translation>&amp;Không</translation>
    </message>
    <message>
        <source>N&amp;o to All</source>
        <translation>K&amp;hông cho tất cả</translation>
    </message>
    <message>
        <source>Abort</source>
        <translation>Hủy bỏ</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Thử lại</translation>
    </message>
    <message>
        <source>Ignore</source>
        <translation>Bỏ qua</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>Bỏ đi</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>Trợ giúp</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Áp dụng</translation>
    </message>
    <message>
        <source>Reset</source>
        <translation>Đặt lại</translation>
    </message>
    <message>
        <source>Restore Defaults</source>
        <translation>Khôi phục mặc định</translation>
    </message>
</context>
<context>
    <name>QWidgetTextControl</name>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Hoàn tác</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>&amp;Làm lại</translation>
    </message>
    <message>
        <source>Cu&amp;t</source>
        <translation>&amp;Cắt</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Sao chép</translation>
    </message>
    <message>
        <source>Copy &amp;Link Location</source>
        <translation>Sao chép địa chỉ &amp;liên kết</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>&amp;Dán</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Select All</source>
        <translation>Chọn tất cả</translation>
    </message>
</context>
<context>
    <name>RecentlyDeleted</name>
    <message>
        <source>Recently deleted chats</source>
        <translation>Cuộc trò chuyện đã xóa gần đây</translation>
    </message>
    <message>
        <source>Deleted chats are kept for {keep_days} days, then erased for good.</source>
        <translation>Cuộc trò chuyện đã xóa được giữ {keep_days} ngày, sau đó bị xóa hẳn.</translation>
    </message>
    <message>
        <source>Restore</source>
        <translation>Khôi phục</translation>
    </message>
    <message>
        <source>{value}
deleted {when}</source>
        <translation>{value}
đã xóa {when}</translation>
    </message>
    <message>
        <source>Untitled chat</source>
        <translation>Cuộc trò chuyện chưa đặt tên</translation>
    </message>
    <message>
        <source>No deleted chats.</source>
        <translation>Không có cuộc trò chuyện nào đã xóa.</translation>
    </message>
</context>
<context>
    <name>RemotesPanel</name>
    <message>
        <source>{name} is on another computer ({url}). When you pick one of its models, each message and your conversation&apos;s earlier messages and system prompt are sent there, after a preview. Allow that?</source>
        <translation>{name} ở trên một máy tính khác ({url}). Khi bạn chọn một mô hình của nó, mỗi tin nhắn cùng các tin nhắn trước đó và lời nhắc hệ thống của cuộc trò chuyện sẽ được gửi đến đó, sau khi xem trước. Cho phép không?</translation>
    </message>
    <message>
        <source>this computer: nothing leaves it</source>
        <translation>máy tính này: không có gì rời khỏi máy</translation>
    </message>
    <message>
        <source>another computer: allowed, with a preview</source>
        <translation>máy tính khác: được phép, có xem trước</translation>
    </message>
    <message>
        <source>another computer: not allowed yet</source>
        <translation>máy tính khác: chưa được phép</translation>
    </message>
    <message>
        <source>Remote servers</source>
        <translation>Máy chủ từ xa</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Kiểm tra kết nối</translation>
    </message>
    <message>
        <source>Allow sending conversations there</source>
        <translation>Cho phép gửi cuộc trò chuyện đến đó</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Gỡ bỏ</translation>
    </message>
    <message>
        <source>if the server needs one (kept in the keychain)</source>
        <translation>nếu máy chủ cần (được giữ trong kho khóa)</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Tên</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Add server</source>
        <translation>Thêm máy chủ</translation>
    </message>
    <message>
        <source>A server on 127.0.0.1 or localhost is this computer; any other address is another computer, and offline mode blocks it.</source>
        <translation>Máy chủ ở 127.0.0.1 hoặc localhost là máy tính này; mọi địa chỉ khác là một máy tính khác, và chế độ ngoại tuyến sẽ chặn nó.</translation>
    </message>
    <message>
        <source>No servers yet: add one below.</source>
        <translation>Chưa có máy chủ nào: hãy thêm một máy chủ bên dưới.</translation>
    </message>
    <message>
        <source>Allow this server?</source>
        <translation>Cho phép máy chủ này?</translation>
    </message>
    <message>
        <source>It</source>
        <translation>Máy chủ này</translation>
    </message>
    <message>
        <source>Added {server}.</source>
        <translation>Đã thêm {server}.</translation>
    </message>
    <message>
        <source>Asking {name} for its models…</source>
        <translation>Đang hỏi {name} danh sách mô hình…</translation>
    </message>
    <message numerus="yes">
        <source>{name} answered: %n model ({names}).</source>
        <translation>
            <numerusform>{name} đã trả lời: %n mô hình ({names}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{name} answered: %n models ({names}).</source>
        <translation>
            <numerusform>{name} đã trả lời: %n mô hình ({names}).</numerusform>
        </translation>
    </message>
    <message>
        <source>{name} answered: no models.</source>
        <translation>{name} đã trả lời: không có mô hình nào.</translation>
    </message>
    <message>
        <source>Removed {name} and its token.</source>
        <translation>Đã gỡ {name} và token của nó.</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <source>%n served so far</source>
        <translation>đã phục vụ %n</translation>
    </message>
    <message>
        <source>Idle · {served}</source>
        <translation>Đang rảnh · {served}</translation>
    </message>
    <message>
        <source>, %n waiting</source>
        <translation>, %n đang chờ</translation>
    </message>
    <message>
        <source>Serving %n request</source>
        <translation>Đang phục vụ %n yêu cầu</translation>
    </message>
    <message>
        <source>Serving %n requests</source>
        <translation>Đang phục vụ %n yêu cầu</translation>
    </message>
    <message>
        <source>Serve the loaded model to other programs</source>
        <translation>Cung cấp mô hình đã nạp cho các chương trình khác</translation>
    </message>
    <message>
        <source>OpenAI- and Anthropic-compatible API, as `hearth serve`; the app&apos;s chats and the server&apos;s requests take turns on the one model.</source>
        <translation>API tương thích OpenAI và Anthropic, như `hearth serve`; các cuộc trò chuyện của ứng dụng và các yêu cầu tới máy chủ lần lượt dùng chung một mô hình.</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Tắt</translation>
    </message>
    <message>
        <source>Copy base URL</source>
        <translation>Sao chép URL gốc</translation>
    </message>
    <message>
        <source>Show token</source>
        <translation>Hiện token</translation>
    </message>
    <message>
        <source>Copy token</source>
        <translation>Sao chép token</translation>
    </message>
    <message>
        <source>Off: no other program can reach the model.</source>
        <translation>Tắt: không chương trình nào khác truy cập được mô hình.</translation>
    </message>
    <message>
        <source>only programs on this computer can reach it</source>
        <translation>chỉ các chương trình trên máy tính này truy cập được</translation>
    </message>
    <message>
        <source>other computers can reach it; every request needs the token</source>
        <translation>các máy tính khác truy cập được; mọi yêu cầu đều cần token</translation>
    </message>
    <message>
        <source>Serving at {openai} (OpenAI) and {anthropic} (Anthropic): {where}.</source>
        <translation>Đang phục vụ tại {openai} (OpenAI) và {anthropic} (Anthropic): {where}.</translation>
    </message>
    <message>
        <source>There is no engine to serve yet.</source>
        <translation>Chưa có bộ máy suy luận nào để phục vụ.</translation>
    </message>
    <message>
        <source>Hide token</source>
        <translation>Ẩn token</translation>
    </message>
</context>
<context>
    <name>Session</name>
    <message>
        <source>{error} The damaged file is kept for recovery.</source>
        <translation>{error} Tệp bị hỏng được giữ lại để khôi phục.</translation>
    </message>
    <message>
        <source>{found} There is no backup, so Hearth started a new, empty history.</source>
        <translation>{found} Không có bản sao lưu nào, nên Hearth đã bắt đầu một lịch sử mới, trống.</translation>
    </message>
    <message>
        <source>{found}

Restore the latest good backup, from {when} ({chats} chats)? Chats written after it stay only in the damaged file.</source>
        <translation>{found}

Khôi phục bản sao lưu tốt gần nhất, lúc {when} ({chats} cuộc trò chuyện)? Những cuộc trò chuyện viết sau thời điểm đó chỉ còn trong tệp bị hỏng.</translation>
    </message>
    <message>
        <source>Hearth&apos;s history is damaged</source>
        <translation>Lịch sử của Hearth bị hỏng</translation>
    </message>
    <message>
        <source>{found} Hearth started a new, empty history; the backup from {when} can be restored in Settings → Backups.</source>
        <translation>{found} Hearth đã bắt đầu một lịch sử mới, trống; bản sao lưu lúc {when} có thể được khôi phục trong Cài đặt → Sao lưu.</translation>
    </message>
    <message>
        <source>{found} Restoring the backup from {when} failed: {reason}</source>
        <translation>{found} Khôi phục bản sao lưu lúc {when} không thành công: {reason}</translation>
    </message>
    <message>
        <source>{found} Hearth restored the backup from {when} ({chats} chats).</source>
        <translation>{found} Hearth đã khôi phục bản sao lưu lúc {when} ({chats} cuộc trò chuyện).</translation>
    </message>
    <message>
        <source>Hearth cannot save the window&apos;s state ({error}).</source>
        <translation>Hearth không lưu được trạng thái cửa sổ ({error}).</translation>
    </message>
    <message>
        <source>Hearth closed unexpectedly last time. Your last chat and model are back; everything you wrote and every reply streamed so far was saved.</source>
        <translation>Lần trước Hearth đã đóng bất ngờ. Cuộc trò chuyện và mô hình gần nhất của bạn đã được mở lại; mọi thứ bạn viết và mọi câu trả lời đã hiện ra đều được lưu.</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Models</source>
        <translation>Mô hình</translation>
    </message>
    <message>
        <source>Loading</source>
        <translation>Nạp mô hình</translation>
    </message>
    <message>
        <source>Replies</source>
        <translation>Câu trả lời</translation>
    </message>
    <message>
        <source>Claude</source>
        <translation>Claude</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>Giao diện</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>Lượng tử hóa</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>Số lớp trên GPU</translation>
    </message>
    <message>
        <source>Context length</source>
        <translation>Độ dài ngữ cảnh</translation>
    </message>
    <message>
        <source>Threads</source>
        <translation>Số luồng</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>Kích thước lô</translation>
    </message>
    <message>
        <source>Flash attention</source>
        <translation>Flash attention</translation>
    </message>
    <message>
        <source>KV-cache type</source>
        <translation>Kiểu bộ nhớ đệm KV</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Nhiệt độ</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Min-p</source>
        <translation>Min-p</translation>
    </message>
    <message>
        <source>Repeat penalty</source>
        <translation>Phạt lặp từ</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>Số token tối đa</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Hạt giống ngẫu nhiên</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>Lời nhắc hệ thống</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Chủ đề màu</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Ngôn ngữ</translation>
    </message>
    <message>
        <source>Models folder</source>
        <translation>Thư mục mô hình</translation>
    </message>
    <message>
        <source>Offline mode</source>
        <translation>Chế độ ngoại tuyến</translation>
    </message>
    <message>
        <source>Use Claude</source>
        <translation>Dùng Claude</translation>
    </message>
    <message>
        <source>Claude model</source>
        <translation>Mô hình Claude</translation>
    </message>
    <message>
        <source>Routing</source>
        <translation>Nơi trả lời</translation>
    </message>
    <message>
        <source>Document chunk size</source>
        <translation>Cỡ đoạn tài liệu</translation>
    </message>
    <message>
        <source>Document chunk overlap</source>
        <translation>Phần chồng lấn giữa các đoạn</translation>
    </message>
    <message>
        <source>Embedding model</source>
        <translation>Mô hình nhúng</translation>
    </message>
    <message>
        <source>Collections for a new chat</source>
        <translation>Bộ sưu tập cho cuộc trò chuyện mới</translation>
    </message>
    <message>
        <source>Largest document (MB)</source>
        <translation>Tài liệu lớn nhất (MB)</translation>
    </message>
    <message>
        <source>Most text per document</source>
        <translation>Lượng chữ tối đa mỗi tài liệu</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>Địa chỉ máy chủ</translation>
    </message>
    <message>
        <source>Server port</source>
        <translation>Cổng máy chủ</translation>
    </message>
    <message>
        <source>Allowed web pages</source>
        <translation>Trang web được phép</translation>
    </message>
    <message>
        <source>Log prompts and replies</source>
        <translation>Ghi lời nhắc và câu trả lời vào nhật ký</translation>
    </message>
    <message>
        <source>Server queue</source>
        <translation>Hàng đợi máy chủ</translation>
    </message>
    <message>
        <source>Server&apos;s longest reply</source>
        <translation>Câu trả lời dài nhất của máy chủ</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>Theo hệ thống</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Sáng</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Tối</translation>
    </message>
    <message>
        <source>Local model only</source>
        <translation>Chỉ mô hình trên máy</translation>
    </message>
    <message>
        <source>Ask each time (local or Claude)</source>
        <translation>Hỏi mỗi lần (trên máy hay Claude)</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Tự động</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Hoàn tác</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Áp dụng</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>Nâng cao</translation>
    </message>
    <message>
        <source>Show the options most people never need to change.</source>
        <translation>Hiện các tùy chọn mà hầu hết mọi người không bao giờ cần đổi.</translation>
    </message>
    <message>
        <source>Set API key…</source>
        <translation>Đặt khóa API…</translation>
    </message>
    <message>
        <source>Test key</source>
        <translation>Kiểm tra khóa</translation>
    </message>
    <message>
        <source>Forget key</source>
        <translation>Quên khóa</translation>
    </message>
    <message>
        <source>A new language shows the next time Hearth starts.</source>
        <translation>Ngôn ngữ mới sẽ hiển thị từ lần khởi động Hearth tiếp theo.</translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <source>New chat</source>
        <translation>Trò chuyện mới</translation>
    </message>
    <message>
        <source>New chat (Ctrl+N)</source>
        <translation>Trò chuyện mới (Ctrl+N)</translation>
    </message>
    <message>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>Bắt đầu cuộc trò chuyện mới (Ctrl+N)</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>Nhập…</translation>
    </message>
    <message>
        <source>Import chats from GPT4All, LM Studio, Jan, Ollama, Open WebUI, ChatGPT</source>
        <translation>Nhập cuộc trò chuyện từ GPT4All, LM Studio, Jan, Ollama, Open WebUI, ChatGPT</translation>
    </message>
    <message>
        <source>Search chats (Ctrl+F)</source>
        <translation>Tìm cuộc trò chuyện (Ctrl+F)</translation>
    </message>
    <message>
        <source>Search chats</source>
        <translation>Tìm cuộc trò chuyện</translation>
    </message>
    <message>
        <source>Finds chats by title and by what was written</source>
        <translation>Tìm cuộc trò chuyện theo tiêu đề và theo nội dung đã viết</translation>
    </message>
    <message>
        <source>Chats</source>
        <translation>Trò chuyện</translation>
    </message>
    <message>
        <source>Enter opens a chat; F2 renames it, Delete deletes it, the menu key shows more</source>
        <translation>Enter mở cuộc trò chuyện; F2 đổi tên, Delete xóa, phím menu hiện thêm lựa chọn</translation>
    </message>
    <message>
        <source>Chat deleted.</source>
        <translation>Đã xóa cuộc trò chuyện.</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>Hoàn tác</translation>
    </message>
    <message>
        <source>Bring back the chat just deleted</source>
        <translation>Lấy lại cuộc trò chuyện vừa xóa</translation>
    </message>
    <message>
        <source>Untitled chat</source>
        <translation>Cuộc trò chuyện chưa đặt tên</translation>
    </message>
    <message>
        <source>Imported from {file} ({app})</source>
        <translation>Đã nhập từ {file} ({app})</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>Đổi tên…</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation>Xuất dạng Markdown…</translation>
    </message>
    <message>
        <source>Export as JSON…</source>
        <translation>Xuất dạng JSON…</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Rename chat</source>
        <translation>Đổi tên cuộc trò chuyện</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation>Tiêu đề:</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <source>Export chat</source>
        <translation>Xuất cuộc trò chuyện</translation>
    </message>
    <message>
        <source>Exported “{title}” to {path}.</source>
        <translation>Đã xuất “{title}” ra {path}.</translation>
    </message>
    <message>
        <source>Deleted “{title}”.</source>
        <translation>Đã xóa “{title}”.</translation>
    </message>
</context>
<context>
    <name>SourcesPanel</name>
    <message>
        <source>File</source>
        <translation>Tệp</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>Vị trí</translation>
    </message>
    <message>
        <source>Keyword</source>
        <translation>Từ khóa</translation>
    </message>
    <message>
        <source>Vector</source>
        <translation>Vectơ</translation>
    </message>
    <message>
        <source>Fused</source>
        <translation>Kết hợp</translation>
    </message>
    <message>
        <source>&lt;b&gt;Sources&lt;/b&gt;</source>
        <translation>&lt;b&gt;Nguồn&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Open file</source>
        <translation>Mở tệp</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>Ẩn</translation>
    </message>
    <message>
        <source>Sources of the reply</source>
        <translation>Nguồn của câu trả lời</translation>
    </message>
    <message>
        <source>Each excerpt retrieved, with its keyword, vector and fused scores</source>
        <translation>Từng trích đoạn tìm được, với điểm theo từ khóa, theo vectơ và điểm kết hợp</translation>
    </message>
    <message>
        <source>Text of the selected source</source>
        <translation>Nội dung của nguồn đã chọn</translation>
    </message>
    <message>
        <source>left out</source>
        <translation>bị bỏ ra</translation>
    </message>
    <message>
        <source>Reciprocal-rank fusion of the keyword rank ({value}) and the vector rank ({value2})</source>
        <translation>Kết hợp thứ hạng nghịch đảo của thứ hạng từ khóa ({value}) và thứ hạng vectơ ({value2})</translation>
    </message>
    <message>
        <source>Found, but left out: it did not fit the model&apos;s context</source>
        <translation>Tìm thấy nhưng bị bỏ ra: không vừa ngữ cảnh của mô hình</translation>
    </message>
    <message numerus="yes">
        <source>&lt;b&gt;Sources&lt;/b&gt; — %n excerpt given to the model</source>
        <translation>
            <numerusform>&lt;b&gt;Nguồn&lt;/b&gt; — %n trích đoạn đã đưa cho mô hình</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>&lt;b&gt;Sources&lt;/b&gt; — %n excerpts given to the model</source>
        <translation>
            <numerusform>&lt;b&gt;Nguồn&lt;/b&gt; — %n trích đoạn đã đưa cho mô hình</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>, %n left out</source>
        <translation>
            <numerusform>, %n bị bỏ ra</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>UnfinishedDownloads</name>
    <message>
        <source>&lt;b&gt;Unfinished downloads&lt;/b&gt; — resume from what is on disk</source>
        <translation>&lt;b&gt;Tải xuống chưa xong&lt;/b&gt; — tiếp tục từ phần đã có trên đĩa</translation>
    </message>
    <message>
        <source>Unfinished downloads</source>
        <translation>Tải xuống chưa xong</translation>
    </message>
    <message>
        <source>Model / file</source>
        <translation>Mô hình / tệp</translation>
    </message>
    <message>
        <source>On disk</source>
        <translation>Trên đĩa</translation>
    </message>
    <message>
        <source>{have} of {size}</source>
        <translation>{have} trên {size}</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Tiếp tục</translation>
    </message>
    <message>
        <source>Hearth no longer knows where this file came from.</source>
        <translation>Hearth không còn biết tệp này đến từ đâu.</translation>
    </message>
    <message>
        <source>Its download record is missing: it can only be discarded.</source>
        <translation>Bản ghi tải xuống của tệp đã mất: chỉ có thể bỏ đi.</translation>
    </message>
    <message>
        <source>Discard…</source>
        <translation>Bỏ đi…</translation>
    </message>
    <message>
        <source>Discard download?</source>
        <translation>Bỏ tải xuống?</translation>
    </message>
    <message>
        <source>Delete the {size} of {name} downloaded so far?</source>
        <translation>Xóa {size} của {name} đã tải về đến giờ?</translation>
    </message>
</context>
</TS>
